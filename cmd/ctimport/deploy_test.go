package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ctimport/ctimport/pipeline"
)

// checkShardCommand parses a deployment's start-import command line as
// ctimport does in a process whose index variable env is index, and
// checks that it runs shard index of count.
func checkShardCommand(t *testing.T, argv []string, env string, index, count int) {
	t.Helper()
	t.Setenv(env, strconv.Itoa(index))
	a, err := parseArgs(argv)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	if a.command != "start-import" {
		t.Fatalf("the command is %q, not start-import", a.command)
	}
	in, opts, err := (&cli{args: a}).startInput()
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	if want := (pipeline.Shard{Index: index, Count: count}); opts.Shard != want {
		t.Errorf("the command runs shard %v, want %v", opts.Shard, want)
	}
	if len(in.Destinations) != 1 || in.ImportSource == nil || !strings.HasPrefix(in.ImportSource.S3.S3LocationUri, "s3://") {
		t.Errorf("the command imports %+v into %v", in.ImportSource, in.Destinations)
	}
}

// TestDeployKubernetes checks that the Indexed Job runs as many shards as
// it has completions, each with the command line ctimport takes.
func TestDeployKubernetes(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "deploy", "kubernetes", "import-job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var job struct {
		Kind string
		Spec struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    int
			Parallelism    int
			Template       struct {
				Spec struct {
					Containers []struct{ Args []string }
				}
			}
		}
	}
	for job.Kind != "Job" {
		if err := dec.Decode(&job); err != nil {
			t.Fatalf("no Job in the manifest: %v", err)
		}
	}
	s := job.Spec
	if s.CompletionMode != "Indexed" || s.Completions < 2 || s.Parallelism != s.Completions || len(s.Template.Spec.Containers) != 1 {
		t.Fatalf("the Job is %+v; want an Indexed Job of one container", s)
	}
	checkShardCommand(t, s.Template.Spec.Containers[0].Args, "JOB_COMPLETION_INDEX", s.Completions-1, s.Completions)
}

// TestDeployBatch checks the AWS Batch job definition's command, with its
// parameters' defaults, in a job of an array.
func TestDeployBatch(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "aws-batch", "job-definition.json"))
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		ContainerProperties struct{ Command []string }
		Parameters          map[string]string
	}
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	argv := def.ContainerProperties.Command
	for i, arg := range argv {
		if name, ok := strings.CutPrefix(arg, "Ref::"); ok {
			argv[i] = def.Parameters[name]
		}
	}
	count, err := strconv.Atoi(def.Parameters["shards"])
	if err != nil {
		t.Fatalf("the shards parameter: %v", err)
	}
	checkShardCommand(t, argv, "AWS_BATCH_JOB_ARRAY_INDEX", 1, count)
}
