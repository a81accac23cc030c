package build

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Real pip output of packages built from source on a machine without the
// library's development files (pip 24, Debian 12).
var (
	psycopg2NoPgConfig = `Collecting psycopg2==2.9.9 (from -r requirements.txt (line 2))
  Downloading psycopg2-2.9.9.tar.gz (384 kB)
  Preparing metadata (setup.py): started
  Preparing metadata (setup.py): finished with status 'error'
  error: subprocess-exited-with-error
  
  × python setup.py egg_info did not run successfully.
  │ exit code: 1
  ╰─> [23 lines of output]
      running egg_info
      creating /tmp/pip-pip-egg-info-7d5zrsmt/psycopg2.egg-info
      writing /tmp/pip-pip-egg-info-7d5zrsmt/psycopg2.egg-info/PKG-INFO
      
      Error: pg_config executable not found.
      
      pg_config is required to build psycopg2 from source.  Please add the directory
      containing pg_config to the $PATH or specify the full executable path with the
      option:
      
          python setup.py build_ext --pg-config /path/to/pg_config build ...
      
      or with the pg_config option in 'setup.cfg'.
      
      If you prefer to avoid building psycopg2 from source, please install the PyPI
      'psycopg2-binary' package instead.
      
      For further information please check the 'doc/src/install.rst' file (also at
      <https://www.psycopg.org/docs/install.html>).
      
      [end of output]
  
  note: This error originates from a subprocess, and is likely not a problem with pip.
error: metadata-generation-failed`
	psycopg2NoHeaders = `      building 'psycopg2._psycopg' extension
      gcc -pthread -fno-strict-overflow -Wsign-compare -DNDEBUG -g -O2 -Wall -fPIC -DPSYCOPG_VERSION=2.9.9 -I/usr/include/postgresql -c psycopg/adapter_asis.c -o build/temp.linux-x86_64-cpython-312/psycopg/adapter_asis.o
      In file included from psycopg/adapter_asis.c:28:
      ./psycopg/psycopg.h:35:10: fatal error: libpq-fe.h: No such file or directory
         35 | #include <libpq-fe.h>
            |          ^~~~~~~~~~~~
      compilation terminated.
      error: command '/usr/bin/gcc' failed with exit code 1
      [end of output]
  note: This error originates from a subprocess, and is likely not a problem with pip.
  ERROR: Failed building wheel for psycopg2`
	mysqlclientPkgConfig = `      Trying pkg-config --exists mysqlclient
      Command 'pkg-config --exists mysqlclient' returned non-zero exit status 1.
      Trying pkg-config --exists mariadb
      Command 'pkg-config --exists mariadb' returned non-zero exit status 1.
      Trying pkg-config --exists libmariadb
      Command 'pkg-config --exists libmariadb' returned non-zero exit status 1.
      Traceback (most recent call last):
        File "<string>", line 155, in get_config
        File "<string>", line 48, in find_package_name
      Exception: Can not find valid pkg-config name.
      Specify MYSQLCLIENT_CFLAGS and MYSQLCLIENT_LDFLAGS env vars manually
      [end of output]`
	mysqlclientOld = `      /bin/sh: 1: mysql_config: not found
      Traceback (most recent call last):
        File "/tmp/pip-install-abc/mysqlclient_x/setup_posix.py", line 31, in mysql_config
          raise OSError("{} not found".format(_mysql_config_path))
      OSError: mysql_config not found`
	cffiNoFFI = `      gcc -pthread -Wno-unused-result -Wsign-compare -DNDEBUG -g -fwrapv -O3 -Wall -fPIC -DFFI_BUILDING=1 -DUSE__THREAD -DHAVE_SYNC_SYNCHRONIZE -I/root/.pyenv/versions/3.12.1/include/python3.12 -c src/c/_cffi_backend.c -o build/temp.linux-x86_64-cpython-312/src/c/_cffi_backend.o
      src/c/_cffi_backend.c:15:10: fatal error: ffi.h: No such file or directory
         15 | #include <ffi.h>
            |          ^~~~~~~
      compilation terminated.
      error: command '/usr/bin/gcc' failed with exit code 1`
	noPythonH = `      x86_64-linux-gnu-gcc -Wsign-compare -DNDEBUG -g -fwrapv -O2 -Wall -fPIC -I/opt/python/3.12.1/include/python3.12 -c src/speedups.c -o build/temp.linux-x86_64-cpython-312/src/speedups.o
      src/speedups.c:1:10: fatal error: Python.h: No such file or directory
          1 | #include <Python.h>
            |          ^~~~~~~~~~
      compilation terminated.`
	pillowNoJPEG = `      The headers or library files could not be found for jpeg,
      a required dependency when compiling Pillow from source.
      
      Please see the install instructions at:
         https://pillow.readthedocs.io/en/latest/installation/basic-installation.html`
	pillowNoZlib = `      building 'PIL._imaging' extension
      src/libImaging/ZipDecode.c:18:10: fatal error: zlib.h: No such file or directory
      compilation terminated.`
	cryptographyNoSSL = `      build/temp.linux-x86_64-cpython-312/_openssl.c:575:10: fatal error: openssl/opensslv.h: No such file or directory
        575 | #include <openssl/opensslv.h>
            |          ^~~~~~~~~~~~~~~~~~~~
      compilation terminated.`
	lxmlNoXML = `      In file included from src/lxml/etree.c:865:
      src/lxml/includes/etree_defs.h:14:10: fatal error: libxml/xmlversion.h: No such file or directory
         14 | #include "libxml/xmlversion.h"
            |          ^~~~~~~~~~~~~~~~~~~~~
      compilation terminated.
      Compile failed: command '/usr/bin/gcc' failed with exit code 1
      *********************************************************************************
      Could not find function xmlCheckVersion in library libxml2. Is libxml2 installed?
      *********************************************************************************
      error: command '/usr/bin/gcc' failed with exit code 1
      Error: Please make sure the libxml2 and libxslt development packages are installed.`
	pythonLDAP = `      In file included from Modules/LDAPObject.c:3:
      Modules/common.h:15:10: fatal error: lber.h: No such file or directory
         15 | #include <lber.h>
            |          ^~~~~~~~
      compilation terminated.`
	gssapiNoKrb5 = `      Traceback (most recent call last):
        File "<string>", line 109, in <module>
        File "<string>", line 22, in get_output
        File "/usr/lib/python3.12/subprocess.py", line 466, in check_output
      FileNotFoundError: [Errno 2] No such file or directory: 'krb5-config'`
	pysqlite3 = `      src/blob.h:4:10: fatal error: sqlite3.h: No such file or directory
          4 | #include "sqlite3.h"
            |          ^~~~~~~~~~~
      compilation terminated.`
	noGCC = `      building 'markupsafe._speedups' extension
      error: command 'gcc' failed: No such file or directory
      [end of output]`
	noSuchVersion = `ERROR: Could not find a version that satisfies the requirement djangoo==9.9 (from versions: none)
ERROR: No matching distribution found for djangoo==9.9`
	configureCheck = `      checking for jpeglib.h... yes
      checking for zlib.h... yes
      ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device`
)

func TestMissingDeps(t *testing.T) {
	tests := []struct {
		name   string
		output string
		want   []string // packages, in order
	}{
		{"psycopg2 without pg_config", psycopg2NoPgConfig, []string{"libpq-dev"}},
		{"psycopg2 without libpq headers", psycopg2NoHeaders, []string{"libpq-dev"}},
		{"mysqlclient 2.2 without pkg-config file", mysqlclientPkgConfig, []string{"default-libmysqlclient-dev pkg-config"}},
		{"mysqlclient before 2.2", mysqlclientOld, []string{"default-libmysqlclient-dev pkg-config"}},
		{"cffi", cffiNoFFI, []string{"libffi-dev"}},
		{"interpreter without headers", noPythonH, []string{"python3-dev"}},
		{"Pillow without libjpeg", pillowNoJPEG, []string{"libjpeg-dev"}},
		{"Pillow without zlib", pillowNoZlib, []string{"zlib1g-dev"}},
		{"cryptography without OpenSSL", cryptographyNoSSL, []string{"libssl-dev"}},
		{"lxml", lxmlNoXML, []string{"libxml2-dev", "libxml2-dev libxslt1-dev"}},
		{"python-ldap", pythonLDAP, []string{"libldap2-dev"}},
		{"gssapi", gssapiNoKrb5, []string{"libkrb5-dev"}},
		{"pysqlite3", pysqlite3, []string{"libsqlite3-dev"}},
		{"no compiler", noGCC, []string{"build-essential"}},
		{"not a compile failure", noSuchVersion, nil},
		{"a configure script's checks are no failure", configureCheck, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s missingDepScanner
			for _, line := range strings.Split(tc.output, "\n") {
				s.scan(line)
			}
			var got []string
			for _, d := range s.found {
				got = append(got, d.pkg)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("packages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMissingDepAdvice(t *testing.T) {
	interp := Interpreter{Version: "3.12.1", Path: "/opt/python/3.12.1/bin/python3.12"}
	tests := []struct {
		name   string
		output string
		want   string
	}{
		{"psycopg2", psycopg2NoPgConfig + "\n" + psycopg2NoHeaders,
			"A package is compiled from source and cannot find pg_config (Debian package libpq-dev). " +
				"App Service's build image ships these; here the server's operator installs them: apt-get install libpq-dev. " +
				"Or require a package that needs no compiling instead: psycopg2-binary (or psycopg[binary])."},
		{"lxml: both packages, once each", lxmlNoXML,
			"A package is compiled from source and cannot find libxml/xmlversion.h (Debian package libxml2-dev). " +
				"A package is compiled from source and cannot find libxml2's and libxslt's headers (Debian packages libxml2-dev libxslt1-dev). " +
				"App Service's build image ships these; here the server's operator installs them: apt-get install libxml2-dev libxslt1-dev."},
		{"Python.h names the interpreter", noPythonH,
			"A package is compiled against Python's headers, and Python.h is missing: the headers belong to the interpreter itself " +
				"(Python 3.12.1 at /opt/python/3.12.1/bin/python3.12, which looks for them in /opt/python/3.12.1/include). " +
				"For the system's python3 they are in python3-dev; an interpreter installed with pyenv or from source must be reinstalled with its headers."},
		{"nothing to say", noSuchVersion, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s missingDepScanner
			for _, line := range strings.Split(tc.output, "\n") {
				s.scan(line)
			}
			if diff := cmp.Diff(tc.want, missingDepAdvice(s.found, interp)); diff != "" {
				t.Errorf("advice (-want +got):\n%s", diff)
			}
		})
	}
}

// scriptedRunner prints canned output and fails: pip's failure without
// needing a package index or a compiler here.
type scriptedRunner struct{ output string }

func (r scriptedRunner) Run(ctx context.Context, c Cmd) error {
	fmt.Fprintln(c.Stderr, r.output)
	return errors.New("exit status 1")
}

// TestPipFailureNamesPackage checks that the advice reaches both the build
// log and the error, even when the telling line is far from pip's last
// lines.
func TestPipFailureNamesPackage(t *testing.T) {
	b, err := New(Config{CacheDir: t.TempDir(), Runner: scriptedRunner{psycopg2NoPgConfig}})
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	interp := Interpreter{Version: "3.12.1", Path: "/usr/bin/python3.12"}
	err = b.pip(context.Background(), buildLog{&log}, &log, Cmd{Argv: []string{"pip"}}, "requirements.txt", interp)
	if err == nil {
		t.Fatal("pip succeeded")
	}
	for _, where := range []struct{ name, text string }{{"error", err.Error()}, {"build log", log.String()}} {
		for _, want := range []string{"apt-get install libpq-dev", "psycopg2-binary"} {
			if !strings.Contains(where.text, want) {
				t.Errorf("%s lacks %q:\n%s", where.name, want, where.text)
			}
		}
	}
	if !strings.Contains(log.String(), "ERROR: A package is compiled from source and cannot find pg_config") {
		t.Errorf("build log lacks the advice line:\n%s", log.String())
	}
}
