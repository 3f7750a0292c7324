package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/ctimport/ctimport/api"
)

// operators are the operator members of a field selector, as the API
// names them.
var operators = []string{"Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith"}

// parseSelectors reads --advanced-event-selectors as the AWS CLI takes it:
// a JSON list, file://PATH of a file holding one, or one value of shorthand
// syntax per selector,
// Name=NAME,FieldSelectors=[{Field=FIELD,Equals=[V1,V2],NotStartsWith=[V3]},...].
func parseSelectors(vals []string) ([]api.AdvancedEventSelector, error) {
	if len(vals) == 1 {
		if path, ok := strings.CutPrefix(strings.TrimSpace(vals[0]), "file://"); ok {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			vals = []string{string(data)}
		}
	}
	var items []any
	for _, s := range vals {
		v, err := parseShorthand(s)
		if err != nil {
			return nil, err
		}
		if list, ok := v.([]any); ok && len(vals) == 1 {
			items = list
			break
		}
		items = append(items, v)
	}
	sels := make([]api.AdvancedEventSelector, 0, len(items))
	for i, it := range items {
		sel, err := toSelector(it)
		if err != nil {
			return nil, fmt.Errorf("selector %d: %w", i+1, err)
		}
		sels = append(sels, sel)
	}
	return sels, nil
}

// toSelector converts a parsed selector, Name=...,FieldSelectors=[...].
func toSelector(v any) (api.AdvancedEventSelector, error) {
	var sel api.AdvancedEventSelector
	m, ok := v.(map[string]any)
	if !ok {
		return sel, fmt.Errorf("expected Name=NAME,FieldSelectors=[{Field=FIELD,Equals=[VALUE,...]},...]")
	}
	if err := onlyKeys(m, "Name", "FieldSelectors"); err != nil {
		return sel, err
	}
	if n, ok := m["Name"]; ok {
		if sel.Name, ok = n.(string); !ok {
			return sel, fmt.Errorf("Name must be a string")
		}
	}
	list, ok := m["FieldSelectors"].([]any)
	if !ok {
		return sel, fmt.Errorf("FieldSelectors must be a list: FieldSelectors=[{Field=FIELD,Equals=[VALUE,...]},...]")
	}
	sel.FieldSelectors = make([]api.AdvancedFieldSelector, 0, len(list))
	for _, f := range list {
		fs, err := toFieldSelector(f)
		if err != nil {
			return sel, err
		}
		sel.FieldSelectors = append(sel.FieldSelectors, fs)
	}
	return sel, nil
}

// toFieldSelector converts a parsed field selector,
// {Field=FIELD,Equals=[VALUE,...],...}. An operator given one value may
// leave out the brackets.
func toFieldSelector(v any) (api.AdvancedFieldSelector, error) {
	var fs api.AdvancedFieldSelector
	m, ok := v.(map[string]any)
	if !ok {
		return fs, fmt.Errorf("a field selector must be a structure: {Field=FIELD,Equals=[VALUE,...]}")
	}
	if err := onlyKeys(m, append([]string{"Field"}, operators...)...); err != nil {
		return fs, err
	}
	if fs.Field, ok = m["Field"].(string); !ok {
		return fs, fmt.Errorf("a field selector needs a Field, a string")
	}
	dst := map[string]*[]string{
		"Equals": &fs.Equals, "StartsWith": &fs.StartsWith, "EndsWith": &fs.EndsWith,
		"NotEquals": &fs.NotEquals, "NotStartsWith": &fs.NotStartsWith, "NotEndsWith": &fs.NotEndsWith,
	}
	for _, op := range operators {
		val, given := m[op]
		if !given {
			continue
		}
		values, err := strings1(val)
		if err != nil {
			return fs, fmt.Errorf("%s of %s: %w", op, fs.Field, err)
		}
		*dst[op] = values
	}
	return fs, nil
}

// strings1 returns v, a list of strings or one string, as a list.
func strings1(v any) ([]string, error) {
	if s, ok := v.(string); ok {
		return []string{s}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("expected a list of strings")
	}
	out := make([]string, len(list))
	for i, it := range list {
		if out[i], ok = it.(string); !ok {
			return nil, fmt.Errorf("expected a list of strings")
		}
	}
	return out, nil
}
