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

func TestCatalogProperties(t *testing.T) {
	tests := []struct {
		flag    []string
		env     string
		want    map[string]string
		wantErr bool
	}{
		{},
		{flag: []string{"type=rest", "uri=https://catalog.example/api", "credential=id:s=cret"}, want: map[string]string{"type": "rest", "uri": "https://catalog.example/api", "credential": "id:s=cret"}},
		{env: "type=glue glue.region=eu-west-1", want: map[string]string{"type": "glue", "glue.region": "eu-west-1"}},
		{flag: []string{"type=sql"}, env: "type=glue", want: map[string]string{"type": "sql"}},
		{flag: []string{"uri=https://x"}, wantErr: true},
		{flag: []string{"type"}, wantErr: true},
		{flag: []string{"=rest"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := catalogProperties(tt.flag, tt.env)
		if tt.wantErr {
			if _, ok := err.(*usageError); !ok {
				t.Errorf("%v %q: %v, %v; want a usage error", tt.flag, tt.env, got, err)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("%v %q = %v, %v; want %v", tt.flag, tt.env, got, err, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%v %q = %v; want %v", tt.flag, tt.env, got, tt.want)
			}
		}
	}
}
