//go:build !unix

package miniotest

// lockFile does not lock where flock is missing: parallel test binaries
// may then both install MinIO, which is slow but harmless.
func lockFile(string) (func(), error) {
	return func() {}, nil
}
