package feishufake

import (
	"context"
	"testing"
)

// BenchmarkFullScan is one cold scan of a 10,000-user directory through the SDK
// (200 pages of 50): the fake's share of a bot scan's time must stay small.
func BenchmarkFullScan(b *testing.B) {
	s := New(Options{AppID: testAppID, AppSecret: "bench-full-scan"})
	defer s.Close()
	s.SetUsers(GenerateUsers(10000, 1))
	cli := newClient(s)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		users, err := listAll(ctx, cli, acsMaxPageSize)
		if err != nil || len(users) != 10000 {
			b.Fatalf("%d users, %v", len(users), err)
		}
	}
}

// BenchmarkGenerateUsers makes the 100,000-user directories the snapshot tests use.
func BenchmarkGenerateUsers(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if n := len(GenerateUsers(100000, 1)); n != 100000 {
			b.Fatal(n)
		}
	}
}
