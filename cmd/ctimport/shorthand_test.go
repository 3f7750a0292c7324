package main

import (
	"reflect"
	"strings"
	"testing"
)

// obj is a parsed structure, for the tables below.
type obj = map[string]any

func TestParseShorthand(t *testing.T) {
	source := obj{"S3": obj{
		"S3LocationUri":         "s3://b/p/",
		"S3BucketRegion":        "us-east-1",
		"S3BucketAccessRoleArn": "arn:aws:iam::123456789012:role/r",
	}}
	for _, tc := range []struct {
		name, in string
		want     any
	}{
		{"import source", "S3={S3LocationUri=s3://b/p/,S3BucketRegion=us-east-1,S3BucketAccessRoleArn=arn:aws:iam::123456789012:role/r}", source},
		{"import source as JSON", `{"S3": {"S3LocationUri": "s3://b/p/", "S3BucketRegion": "us-east-1", "S3BucketAccessRoleArn": "arn:aws:iam::123456789012:role/r"}}`, source},
		{"JSON with spaces around", "  \n" + `{"S3":{"S3LocationUri":"s3://b/p/","S3BucketRegion":"us-east-1","S3BucketAccessRoleArn":"arn:aws:iam::123456789012:role/r"}}` + "\n", source},
		{"spaces inside", "S3={ S3LocationUri = s3://b/p/ , S3BucketRegion = us-east-1 ,S3BucketAccessRoleArn=arn:aws:iam::123456789012:role/r }", source},
		{"one pair", "a=b", obj{"a": "b"}},
		{"pairs", "a=b,c=d", obj{"a": "b", "c": "d"}},
		{"empty value", "a=", obj{"a": ""}},
		{"value with =", "a=b=c", obj{"a": "b=c"}},
		{"double-quoted value", `a="x,y}]=",b=c`, obj{"a": "x,y}]=", "b": "c"}},
		{"single-quoted value", `a='s3://b/a,b/'`, obj{"a": "s3://b/a,b/"}},
		{"quotes of the other kind inside", `a="it's",b='say "hi"'`, obj{"a": "it's", "b": `say "hi"`}},
		{"nested structures", "a={b={c=d},e=f}", obj{"a": obj{"b": obj{"c": "d"}, "e": "f"}}},
		{"list", "a=[x,y]", obj{"a": []any{"x", "y"}}},
		{"empty list", "a=[]", obj{"a": []any{}}},
		{"list of structures", "a=[{b=c},{d=e}],f=g", obj{"a": []any{obj{"b": "c"}, obj{"d": "e"}}, "f": "g"}},
		{"list of lists", "a=[[x],[y,z]]", obj{"a": []any{[]any{"x"}, []any{"y", "z"}}}},
		{"list of quoted values", `a=["x,1",'y]']`, obj{"a": []any{"x,1", "y]"}}},
		{"top-level list", "[x,y]", []any{"x", "y"}},
		{"top-level JSON list", `["a", 1, true, null]`, []any{"a", float64(1), true, nil}},
		// The AWS CLI skips blanks around "=", "{", "[" and quotes.
		{"blank before a structure", "S3= {S3LocationUri=s3://b/p/}", obj{"S3": obj{"S3LocationUri": "s3://b/p/"}}},
		{"blanks around = and {", "S3 = { S3LocationUri = s3://b/p/ }", obj{"S3": obj{"S3LocationUri": "s3://b/p/"}}},
		{"blank before a quoted value", `S3={S3LocationUri= "s3://b/p/"}`, obj{"S3": obj{"S3LocationUri": "s3://b/p/"}}},
		{"blanks around quoted list items", `a=[ "x" , "y" ]`, obj{"a": []any{"x", "y"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseShorthand(tc.in)
			if err != nil {
				t.Fatalf("parseShorthand(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseShorthand(%q)\n= %#v\nwant %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseShorthandErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", "at character 1: expected key=value"},
		{"a", "at character 2: expected key=value"},
		{"=b", "at character 1: expected key=value"},
		{"a=b,", "at character 5: expected key=value"},
		{"a=b,c", "at character 6: expected key=value"},
		{"a=b,a=c", "a is given twice"},
		{"a={b=c", "expected }"},
		{"a={b=c]", "expected }"},
		{`a="x`, "at character 3: unterminated quote"},
		{`a='x"`, "unterminated quote"},
		{"a=b}", `at character 4: unexpected "}"`},
		{`a="x"y`, `unexpected "y"`},
		{"a=[x,y", "expected , or ]"},
		{"a=[x}", "expected , or ]"},
		{`{"S3": {"S3LocationUri": "s3://b/"}`, "invalid shorthand syntax"},
		{"S3={S3LocationUri=s3://b/}}", `unexpected "}"`},
	} {
		v, err := parseShorthand(tc.in)
		if err == nil || !strings.HasPrefix(err.Error(), "invalid shorthand syntax at character ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseShorthand(%q) = %#v, %v; want an error with %q", tc.in, v, err, tc.want)
		}
	}
}
