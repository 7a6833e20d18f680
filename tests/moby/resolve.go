// moby-resolve: test oracle for `seccompd convert`.
//
// Runs Docker/moby's own profile resolution code (github.com/docker/docker/
// profiles/seccomp as shipped in Debian 12's golang-github-docker-docker-dev,
// 20.10.24) on a Docker-format profile and prints the resulting
// specs.LinuxSeccomp as JSON (encoding/json) on stdout.
//
//	moby-resolve [--arch GOARCH] [--kernel X.Y] [--caps CAP_A,CAP_B,...] PROFILE.json
//
//	--arch    Go GOARCH name (amd64, arm64, 386, ppc64le, s390x, riscv64, ...);
//	          default: the GOARCH this binary was built for.
//	--kernel  kernel release, parsed by moby's parseRelease ("%d.%d", so
//	          "6.1" and "6.1.0-13-amd64" both mean 6.1); default: uname -r.
//	--caps    comma-separated bounding capability set; "" or absent = none.
//
// Exit status: 0 on success (moby's result, possibly `null` when moby returns
// no filter: no defaultAction and no syscalls), 1 when moby returns an error
// (its message alone is printed on stderr), 2 on a usage error.
//
// Build with tests/moby/build.sh, which compiles this file against a temporary
// copy of Debian's package plus tests/moby/shim/zz_oracle_shim.go; the shim
// provides OracleSetGOARCH and OracleSetKernelRelease (see its comments).
// Resolution itself is seccomp.LoadProfile, moby's exported entry point, the
// same call dockerd makes (daemon/seccomp_linux.go: WithSeccomp).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/docker/docker/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// GOARCH values known to Go (go/build/syslist.go); rejects typos such as x86_64.
var knownGOARCH = map[string]bool{
	"386": true, "amd64": true, "amd64p32": true, "arm": true, "armbe": true,
	"arm64": true, "arm64be": true, "loong64": true, "mips": true, "mipsle": true,
	"mips64": true, "mips64le": true, "mips64p32": true, "mips64p32le": true,
	"ppc": true, "ppc64": true, "ppc64le": true, "riscv": true, "riscv64": true,
	"s390": true, "s390x": true, "sparc": true, "sparc64": true, "wasm": true,
}

func usage(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "moby-resolve: "+format+"\n", a...)
	fmt.Fprintln(os.Stderr, "usage: moby-resolve [--arch GOARCH] [--kernel X.Y] [--caps CAP_A,CAP_B,...] PROFILE.json")
	os.Exit(2)
}

func main() {
	fs := flag.NewFlagSet("moby-resolve", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	arch := fs.String("arch", "", "GOARCH to resolve for (default: build GOARCH)")
	kernel := fs.String("kernel", "", "kernel release X.Y (default: running kernel)")
	caps := fs.String("caps", "", "comma-separated capability bounding set")
	if err := fs.Parse(os.Args[1:]); err != nil {
		usage("%v", err)
	}
	if fs.NArg() != 1 {
		usage("expected exactly one PROFILE.json argument")
	}

	if *arch != "" {
		if !knownGOARCH[*arch] {
			usage("unknown GOARCH %q", *arch)
		}
		seccomp.OracleSetGOARCH(*arch)
	}
	if *kernel != "" {
		if err := seccomp.OracleSetKernelRelease(*kernel); err != nil {
			usage("--kernel: %v", err)
		}
	}
	bounding := []string{}
	for _, c := range strings.Split(*caps, ",") {
		if c = strings.TrimSpace(c); c != "" {
			bounding = append(bounding, c)
		}
	}

	body, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		usage("%v", err)
	}

	spec := &specs.Spec{
		Process: &specs.Process{
			Capabilities: &specs.LinuxCapabilities{Bounding: bounding},
		},
	}
	result, err := seccomp.LoadProfile(string(body), spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(result); err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}
