package build

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// A package built from source during pip install needs the C headers (or a
// *-config tool) of the library it wraps. App Service's Python build image
// ships the common ones; a Slipway server has only what its operator
// installed, so a missing one is named together with the Debian package that
// provides it (https://learn.microsoft.com/azure/app-service/configure-language-python
// describes the build that App Service runs).

// missingDep is one row of the table: a substring of pip's output that means
// a build dependency is missing, and what provides it.
type missingDep struct {
	match  string // substring of one line of pip's output
	what   string // the missing file or tool, as the message names it
	pkg    string // Debian package(s) that provide it, space-separated
	binary string // a requirement with prebuilt wheels that avoids the compile; "" when none
	python bool   // the interpreter's own headers (Python.h)
}

// missingDeps is matched in order against every line pip prints; several
// rows can match one failure (lxml needs libxml2 and libxslt). Headers match
// only in the compiler's "No such file" error, not in a configure script's
// "checking for jpeglib.h..." that may precede an unrelated failure.
var missingDeps = []missingDep{
	// PostgreSQL: psycopg2 from source, psycopg[c].
	{match: "libpq-fe.h: No such file", what: "libpq-fe.h", pkg: "libpq-dev", binary: "psycopg2-binary (or psycopg[binary])"},
	{match: "pg_config executable not found", what: "pg_config", pkg: "libpq-dev", binary: "psycopg2-binary (or psycopg[binary])"},
	{match: "pg_config is required to build psycopg2", what: "pg_config", pkg: "libpq-dev", binary: "psycopg2-binary (or psycopg[binary])"},
	{match: "pg_config: not found", what: "pg_config", pkg: "libpq-dev", binary: "psycopg2-binary (or psycopg[binary])"},
	// MySQL / MariaDB: mysqlclient.
	{match: "mysql_config not found", what: "mysql_config", pkg: "default-libmysqlclient-dev pkg-config", binary: "PyMySQL (pure Python; call pymysql.install_as_MySQLdb() in settings.py)"},
	{match: "mysql_config: not found", what: "mysql_config", pkg: "default-libmysqlclient-dev pkg-config", binary: "PyMySQL (pure Python; call pymysql.install_as_MySQLdb() in settings.py)"},
	{match: "Can not find valid pkg-config name", what: "mysqlclient's pkg-config file", pkg: "default-libmysqlclient-dev pkg-config", binary: "PyMySQL (pure Python; call pymysql.install_as_MySQLdb() in settings.py)"},
	{match: "mysql.h: No such file", what: "mysql.h", pkg: "default-libmysqlclient-dev", binary: "PyMySQL (pure Python; call pymysql.install_as_MySQLdb() in settings.py)"},
	// cffi, and what builds on it.
	{match: "ffi.h: No such file", what: "ffi.h", pkg: "libffi-dev"},
	// The interpreter's own headers.
	{match: "Python.h: No such file", what: "Python.h", pkg: "python3-dev", python: true},
	// Pillow.
	{match: "jpeglib.h: No such file", what: "jpeglib.h", pkg: "libjpeg-dev"},
	{match: "headers or library files could not be found for jpeg", what: "the JPEG library's headers", pkg: "libjpeg-dev"},
	{match: "zlib.h: No such file", what: "zlib.h", pkg: "zlib1g-dev"},
	{match: "headers or library files could not be found for zlib", what: "zlib's headers", pkg: "zlib1g-dev"},
	// OpenSSL: cryptography's and others' C parts.
	{match: "openssl/ssl.h: No such file", what: "openssl/ssl.h", pkg: "libssl-dev"},
	{match: "openssl/opensslv.h: No such file", what: "openssl/opensslv.h", pkg: "libssl-dev"},
	{match: "openssl/err.h: No such file", what: "openssl/err.h", pkg: "libssl-dev"},
	{match: "openssl/evp.h: No such file", what: "openssl/evp.h", pkg: "libssl-dev"},
	{match: "openssl/crypto.h: No such file", what: "openssl/crypto.h", pkg: "libssl-dev"},
	// lxml and xmlsec.
	{match: "libxml/xmlversion.h: No such file", what: "libxml/xmlversion.h", pkg: "libxml2-dev"},
	{match: "libxslt/xsltconfig.h: No such file", what: "libxslt/xsltconfig.h", pkg: "libxslt1-dev"},
	{match: "make sure the libxml2 and libxslt development packages are installed", what: "libxml2's and libxslt's headers", pkg: "libxml2-dev libxslt1-dev"},
	// python-ldap (django-auth-ldap).
	{match: "lber.h: No such file", what: "lber.h", pkg: "libldap2-dev"},
	{match: "ldap.h: No such file", what: "ldap.h", pkg: "libldap2-dev"},
	{match: "sasl/sasl.h: No such file", what: "sasl/sasl.h", pkg: "libsasl2-dev"},
	// Kerberos: gssapi, pykerberos, requests-kerberos.
	{match: "krb5-config", what: "krb5-config", pkg: "libkrb5-dev"},
	{match: "krb5.h: No such file", what: "krb5.h", pkg: "libkrb5-dev"},
	{match: "gssapi/gssapi.h: No such file", what: "gssapi/gssapi.h", pkg: "libkrb5-dev"},
	{match: "sqlite3.h: No such file", what: "sqlite3.h", pkg: "libsqlite3-dev"},
	// The compiler itself.
	{match: "command 'gcc' failed: No such file or directory", what: "the C compiler (gcc)", pkg: "build-essential"},
	{match: "unable to execute 'gcc'", what: "the C compiler (gcc)", pkg: "build-essential"},
	{match: "pkg-config: not found", what: "pkg-config", pkg: "pkg-config"},
}

// missingDepScanner collects the rows that pip's output matches, each row's
// package once, in the order they first appear.
type missingDepScanner struct {
	found []missingDep
}

// scan looks at one line of pip's output. It is called with lineLog's lock
// held, from one command at a time.
func (s *missingDepScanner) scan(line string) {
	for _, d := range missingDeps {
		if !strings.Contains(line, d.match) {
			continue
		}
		if !slices.ContainsFunc(s.found, func(f missingDep) bool { return f.pkg == d.pkg }) {
			s.found = append(s.found, d)
		}
		return // one row per line: the most specific comes first
	}
}

// missingDepAdvice explains found for the build log and the build's error;
// "" when nothing matched. interp is the interpreter the environment is
// built from, whose own headers Python.h is.
func missingDepAdvice(found []missingDep, interp Interpreter) string {
	if len(found) == 0 {
		return ""
	}
	var b strings.Builder
	var pkgs []string
	for _, d := range found {
		if d.python {
			fmt.Fprintf(&b, "A package is compiled against Python's headers, and Python.h is missing: the headers belong to the interpreter itself (Python %s at %s, which looks for them in %s). For the system's python3 they are in python3-dev; an interpreter installed with pyenv or from source must be reinstalled with its headers. ",
				interp.Version, interp.Path, filepath.Join(filepath.Dir(filepath.Dir(interp.Path)), "include"))
			continue
		}
		noun := "package"
		if strings.Contains(d.pkg, " ") {
			noun = "packages"
		}
		fmt.Fprintf(&b, "A package is compiled from source and cannot find %s (Debian %s %s). ", d.what, noun, d.pkg)
		pkgs = append(pkgs, strings.Fields(d.pkg)...)
	}
	if len(pkgs) > 0 {
		slices.Sort(pkgs)
		pkgs = slices.Compact(pkgs)
		fmt.Fprintf(&b, "App Service's build image ships these; here the server's operator installs them: apt-get install %s. ", strings.Join(pkgs, " "))
	}
	var wheels []string
	for _, d := range found {
		if d.binary != "" && !slices.Contains(wheels, d.binary) {
			wheels = append(wheels, d.binary)
		}
	}
	if len(wheels) > 0 {
		fmt.Fprintf(&b, "Or require a package that needs no compiling instead: %s.", strings.Join(wheels, "; "))
	}
	return strings.TrimSpace(b.String())
}
