// render: `helm template` for the tests, without helm. It renders a chart's templates with the
// engine Helm uses (text/template + sprig) and the Helm functions our chart calls, with Helm's
// semantics (helm/helm pkg/engine: engine.go, funcs.go; pkg/chartutil: coalesce.go, values.go):
//
//   - values: values.yaml, then each -f file, then each --set, merged the way Helm coalesces them
//     (maps merge key by key, anything else replaces, null deletes a default); numbers parse as
//     float64 like sigs.k8s.io/yaml (Helm's parser), --set scalars as int64/bool/null/string;
//   - values.schema.json validates the merged values (gojsonschema, as Helm 3 up to 3.17 does);
//   - every templates/ file not starting with "_" is rendered in one template set, so a define in
//     any file is visible everywhere; missing keys render empty ("<no value>" is removed);
//   - include (with Helm's recursion limit), tpl, required, toYaml/fromYaml/toJson/fromJson
//     and fromYamlArray/fromJsonArray
//     (errors swallowed inside templates, as Helm does), lookup (empty: no cluster, like
//     `helm template`); sprig minus env/expandenv.
//
// Output: like `helm template`, each non-empty manifest as "---\n# Source: CHART/templates/F\n...",
// NOTES.txt only with --notes. Exit 1 with Helm-like messages on a template or schema error.
//
// Build: GO111MODULE=off GOPATH=/usr/share/gocode go build -o render render.go
// (Debian: golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev
// golang-github-xeipuuv-gojsonschema-dev).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/xeipuuv/gojsonschema"
	"sigs.k8s.io/yaml"
)

// Helm's limit on nested include of one name (engine.go recursionMaxNums).
const recursionMax = 1000

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// APIVersions mirrors chartutil.VersionSet: templates call .Capabilities.APIVersions.Has.
type APIVersions []string

func (v APIVersions) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(str string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromYAMLArray(str string) []interface{} {
	a := []interface{}{}
	if err := yaml.Unmarshal([]byte(str), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func fromJSONArray(str string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(str), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(str string) map[string]interface{} {
	m := make(map[string]interface{})
	if err := json.Unmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func required(warn string, val interface{}) (interface{}, error) {
	if val == nil {
		return val, errors.New(warn)
	}
	if s, ok := val.(string); ok && s == "" {
		return val, errors.New(warn)
	}
	return val, nil
}

var errUnbound = errors.New("include/tpl called before the template set was bound")

func funcMap() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	extra := template.FuncMap{
		"toYaml":        toYAML,
		"fromYaml":      fromYAML,
		"fromYamlArray": fromYAMLArray,
		"toJson":        toJSON,
		"fromJson":      fromJSON,
		"fromJsonArray": fromJSONArray,
		"required":      required,
		// As in `helm template`: no cluster to look in, so lookup finds nothing.
		"lookup": func(string, string, string, string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
		// Parse-time stand-ins: text/template needs every name when it parses, but include and
		// tpl need the template set, so the real ones replace these (t.Funcs below) before
		// anything executes. Reaching one of these is a harness bug, and fails the render.
		"include": func(string, interface{}) (string, error) { return "", errUnbound },
		"tpl":     func(string, interface{}) (string, error) { return "", errUnbound },
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

// bind gives t the include and tpl that see t's own definitions, as Engine.initFunMap does.
func bind(t *template.Template, included map[string]int) {
	t.Funcs(template.FuncMap{
		"include": func(name string, data interface{}) (string, error) {
			var buf strings.Builder
			if included[name] > recursionMax {
				return "", fmt.Errorf("rendering template has a nested reference name: %s: unable to execute template", name)
			}
			included[name]++
			err := t.ExecuteTemplate(&buf, name, data)
			included[name]--
			return buf.String(), err
		},
		"tpl": func(text string, vals interface{}) (string, error) {
			c, err := t.Clone()
			if err != nil {
				return "", fmt.Errorf("cannot clone template: %w", err)
			}
			c.Option("missingkey=zero")
			bind(c, included)
			c, err = c.New(t.Name()).Parse(text)
			if err != nil {
				return "", fmt.Errorf("cannot parse template %q: %w", text, err)
			}
			var buf strings.Builder
			if err := c.Execute(&buf, vals); err != nil {
				return "", fmt.Errorf("error during tpl function execution for %q: %w", text, err)
			}
			return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
		},
	})
}

// coalesce merges src over dst the way chartutil.CoalesceTables does for user values over
// chart defaults: maps merge, other values replace, a null removes the default.
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	if dst == nil {
		dst = map[string]interface{}{}
	}
	for k, sv := range src {
		if sv == nil {
			delete(dst, k)
			continue
		}
		dm, dIsMap := dst[k].(map[string]interface{})
		sm, sIsMap := sv.(map[string]interface{})
		if dIsMap && sIsMap {
			dst[k] = coalesce(dm, sm)
		} else {
			if dIsMap && !sIsMap {
				fmt.Fprintf(os.Stderr, "warning: overwriting table %s with a non-table value\n", k)
			}
			dst[k] = sv
		}
	}
	return dst
}

// setValue applies one --set a.b.c=v (no list indexes: the chart's tests don't need them).
func setValue(vals map[string]interface{}, expr string) error {
	i := strings.IndexByte(expr, '=')
	if i <= 0 {
		return fmt.Errorf("key %q has no value", expr)
	}
	keys, raw := strings.Split(expr[:i], "."), expr[i+1:]
	var v interface{} = raw
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		v = n
	} else if raw == "true" || raw == "false" {
		v = raw == "true"
	} else if raw == "null" {
		v = nil
	}
	m := vals
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
	return nil
}

func readYAMLMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return m, nil
}

func validateSchema(chartDir, chartName string, values map[string]interface{}) error {
	schema, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		return err
	}
	doc, err := json.Marshal(values)
	if err != nil {
		return err
	}
	res, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(doc))
	if err != nil {
		return err
	}
	if res.Valid() {
		return nil
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n", chartName)
	for _, e := range res.Errors() {
		fmt.Fprintf(&sb, "- %s\n", e)
	}
	return errors.New(sb.String())
}

// chartMetadata turns Chart.yaml's keys into the field names templates use (.Chart.AppVersion).
func chartMetadata(raw map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range raw {
		if k == "" {
			continue
		}
		out[strings.ToUpper(k[:1])+k[1:]] = v
	}
	return out
}

func run() error {
	var valueFiles, sets multiFlag
	name := flag.String("name", "seccompd", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.32.0", "Kubernetes version for .Capabilities")
	notes := flag.Bool("notes", false, "print the rendered NOTES.txt instead of the manifests")
	var apis multiFlag
	flag.Var(&valueFiles, "f", "values file (repeatable)")
	flag.Var(&sets, "set", "KEY=VALUE (repeatable)")
	flag.Var(&apis, "api-versions", "extra API version for .Capabilities.APIVersions.Has (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 {
		return errors.New("usage: render [-name N] [-namespace NS] [-f VALUES]... [-set K=V]... [-notes] CHART_DIR")
	}
	chartDir := flag.Arg(0)

	rawChart, err := readYAMLMap(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	chart := chartMetadata(rawChart)
	chartName, _ := chart["Name"].(string)
	if chartName == "" {
		return errors.New("Chart.yaml: name is required")
	}

	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range valueFiles {
		user, err := readYAMLMap(f)
		if err != nil {
			return err
		}
		values = coalesce(values, user)
	}
	for _, s := range sets {
		user := map[string]interface{}{}
		if err := setValue(user, s); err != nil {
			return err
		}
		values = coalesce(values, user)
	}
	if err := validateSchema(chartDir, chartName, values); err != nil {
		return err
	}

	kv := strings.TrimPrefix(*kubeVersion, "v")
	parts := strings.SplitN(kv, ".", 3)
	if len(parts) < 2 {
		return fmt.Errorf("bad --kube-version %q", *kubeVersion)
	}
	versions := APIVersions{"v1", "apps/v1", "rbac.authorization.k8s.io/v1", "admissionregistration.k8s.io/v1"}
	versions = append(versions, apis...)
	top := map[string]interface{}{
		"Values": values,
		"Chart":  chart,
		"Release": map[string]interface{}{
			"Name": *name, "Namespace": *namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{
				"Version": "v" + kv, "GitVersion": "v" + kv, "Major": parts[0], "Minor": parts[1],
			},
			"APIVersions": versions,
		},
		"Files": map[string]interface{}{},
	}

	// One template set, every file named CHART/templates/FILE, as Helm parses them.
	files, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	t := template.New("gotpl").Option("missingkey=zero").Funcs(funcMap())
	included := map[string]int{}
	bind(t, included)
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		n := path.Join(chartName, "templates", filepath.Base(f))
		if _, err := t.New(n).Parse(string(data)); err != nil {
			return fmt.Errorf("parse error in %q: %w", n, err)
		}
		names = append(names, n)
	}

	var out bytes.Buffer
	for _, n := range names {
		base := path.Base(n)
		isNotes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || isNotes != *notes {
			continue
		}
		vals := map[string]interface{}{}
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]interface{}{"Name": n, "BasePath": path.Join(chartName, "templates")}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, n, vals); err != nil {
			return fmt.Errorf("render error in %q: %w", n, err)
		}
		rendered := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.TrimSpace(rendered) == "" {
			continue
		}
		if isNotes {
			out.WriteString(strings.TrimSpace(rendered) + "\n")
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", n, strings.TrimSpace(rendered))
	}
	_, err = os.Stdout.Write(out.Bytes())
	return err
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
