package validation

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzSpec from seedCorpus")

// TestSeedCorpusFiles checks (or, with -update-seeds, writes) the fuzz seed
// files in Go's corpus format.
func TestSeedCorpusFiles(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzSpec")
	for _, tc := range seedCorpus {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", tc.data)
		file := filepath.Join(dir, tc.name)
		if *updateSeeds {
			if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run go test -run TestSeedCorpusFiles -update-seeds)", err)
		}
		if string(got) != want {
			t.Errorf("%s is stale (run go test -run TestSeedCorpusFiles -update-seeds)", file)
		}
	}
}
