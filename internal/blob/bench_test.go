package blob

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// BenchmarkSmallBlobs measures 1 KiB Put Blob and Get Blob through the Go
// SDK against a loopback listener. Every acknowledged put is fsynced and
// committed, so put speed is bounded by the disk's sync latency.
func BenchmarkSmallBlobs(b *testing.B) {
	ctx := context.Background()
	svc, err := Open(ctx, Config{Dir: b.TempDir(), Accounts: testAccounts()})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	srv := httptest.NewServer(svc)
	defer srv.Close()
	c, err := azblob.NewClientFromConnectionString(connectionString(srv.URL+"/"+DevelopmentAccountName, DevelopmentAccountName, DevelopmentAccount().Keys[0]), nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateContainer(ctx, "bench", nil); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 1024)
	b.Run("put", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := c.UploadBuffer(ctx, "bench", fmt.Sprintf("b%d", i), data, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("put-parallel", func(b *testing.B) {
		var n atomic.Int64
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.UploadBuffer(ctx, "bench", fmt.Sprintf("p%d", n.Add(1)), data, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// The gets read a blob of their own, so that they run alone too
	// (-bench SmallBlobs/get).
	if _, err := c.UploadBuffer(ctx, "bench", "g", data, nil); err != nil {
		b.Fatal(err)
	}
	get := func() error {
		resp, err := c.DownloadStream(ctx, "bench", "g", nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	b.Run("get", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := get(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get-parallel", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := get(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
