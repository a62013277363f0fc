package main

// storeArgs are the `trellis server` flags of the chosen store.
func storeArgs(kind, endpoints string) []string {
	if kind != "etcd" {
		return nil
	}
	return []string{"--store", "etcd", "--etcd-endpoints", endpoints, "--etcd-prefix", "/bench/"}
}
