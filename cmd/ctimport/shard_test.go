package main

import (
	"testing"

	"github.com/ctimport/ctimport/pipeline"
)

func TestParseShardFlag(t *testing.T) {
	tests := []struct {
		flag    string
		env     map[string]string
		want    pipeline.Shard
		wantErr bool
	}{
		{flag: "1/3", want: pipeline.Shard{Index: 1, Count: 3}},
		{flag: "3", env: map[string]string{"JOB_COMPLETION_INDEX": "2"}, want: pipeline.Shard{Index: 2, Count: 3}},
		{flag: "4", env: map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "0"}, want: pipeline.Shard{Index: 0, Count: 4}},
		{flag: "4", env: map[string]string{"JOB_COMPLETION_INDEX": "1", "AWS_BATCH_JOB_ARRAY_INDEX": "3"}, want: pipeline.Shard{Index: 1, Count: 4}},
		{flag: "0/2", env: map[string]string{"JOB_COMPLETION_INDEX": "1"}, want: pipeline.Shard{Index: 0, Count: 2}},
		{flag: "3", wantErr: true},
		{flag: "3", env: map[string]string{"JOB_COMPLETION_INDEX": "3"}, wantErr: true},
		{flag: "3/3", wantErr: true},
		{flag: "x/3", wantErr: true},
		{flag: "0/0", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseShardFlag(tt.flag, func(k string) string { return tt.env[k] })
		if tt.wantErr {
			if _, ok := err.(*usageError); !ok {
				t.Errorf("--shard %s with %v: %v, %v; want a usage error", tt.flag, tt.env, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("--shard %s with %v = %v, %v; want %v", tt.flag, tt.env, got, err, tt.want)
		}
	}
}
