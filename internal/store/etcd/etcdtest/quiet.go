package etcdtest

import "go.uber.org/zap"

// quietLogger keeps the etcd client's retry chatter out of test output.
func quietLogger() *zap.Logger { return zap.NewNop() }
