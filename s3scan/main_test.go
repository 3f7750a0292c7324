package s3scan_test

import (
	"testing"

	"github.com/ctimport/ctimport/internal/miniotest"
)

func TestMain(m *testing.M) {
	defer miniotest.StopShared()
	m.Run()
}
