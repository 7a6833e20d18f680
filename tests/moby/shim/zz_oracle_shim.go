// This file is NOT part of moby. tests/moby/build.sh copies it into a
// temporary copy of Debian's github.com/docker/docker/profiles/seccomp
// package directory (golang-github-docker-docker-dev 20.10.24), so that it is
// compiled as part of that package and can reach two unexported package
// variables. No moby file is modified or copied into our tree.
//
// moby 20.10 resolves a profile in setupSeccomp (seccomp_linux.go) using:
//   - arch:   `arch := goToNative[runtime.GOARCH]`  (goToNative is a package map,
//              read nowhere else);
//   - kernel: getKernelVersion() (kernel_linux.go), which fills the package vars
//              currentKernelVersion/kernelVersionError inside once.Do from uname;
//   - caps:   rs.Process.Capabilities.Bounding (injected by the caller, no shim).
// The two functions below set those package variables before LoadProfile runs,
// which makes moby's unchanged code behave exactly as it would in a dockerd
// built for GOARCH=goarch running on a kernel whose release is `release`.

package seccomp // import "github.com/docker/docker/profiles/seccomp"

import "runtime"

// OracleSetGOARCH makes setupSeccomp see goarch instead of runtime.GOARCH.
// A GOARCH that moby's goToNative does not know (e.g. riscv64 in 20.10) maps
// to "" exactly as in a real build for that GOARCH.
func OracleSetGOARCH(goarch string) {
	if goarch == runtime.GOARCH {
		return
	}
	if native, ok := goToNative[goarch]; ok {
		goToNative[runtime.GOARCH] = native
	} else {
		delete(goToNative, runtime.GOARCH)
	}
}

// OracleSetKernelRelease makes getKernelVersion return moby's own parse
// (parseRelease) of release instead of the running kernel's uname release.
// It must be called before anything calls getKernelVersion. The parse error,
// if any, is returned now and is also what moby would report later.
func OracleSetKernelRelease(release string) error {
	kv, err := parseRelease(release)
	applied := false
	once.Do(func() {
		currentKernelVersion, kernelVersionError = kv, err
		applied = true
	})
	if !applied {
		panic("OracleSetKernelRelease called after getKernelVersion")
	}
	return err
}
