// Package build turns a Python source tree into a runnable artifact the way
// App Service's Oryx does (docs/appservice.md §3), and owns the build cache.
//
// It owns:
//   - choosing the Python interpreter (PYTHON_VERSION setting, linuxFxVersion,
//     runtime.txt, newest installed) and discovering installed interpreters;
//   - copying the source into a new artifact directory;
//   - running PRE_BUILD_COMMAND and POST_BUILD_COMMAND;
//   - the "antenv" virtual environment: created with `python -m venv --copies`,
//     filled with `pip install --prefer-binary -r requirements.txt`, plus
//     gunicorn when the requirements lack it;
//   - Django's collectstatic rule (manage.py at the root and "django" in the
//     requirements, unless DISABLE_COLLECTSTATIC is true; failure is a warning);
//   - oryx-manifest.toml;
//   - explaining a pip install that failed compiling a package for want of a
//     library's headers: the build log and the error name the Debian package
//     that provides them (missing.go), since App Service's build image ships
//     them and a Slipway server has only what its operator installed.
//
// Where Slipway differs from Oryx on purpose:
//   - Environments are cached under Config.CacheDir, keyed by the hash of what
//     determines them (interpreter, requirements, pip settings, a format
//     version). A venv embeds absolute paths, so it is created at its final
//     cache path and the artifact's antenv is an absolute symlink to it. An
//     environment is complete only once its marker file exists; anything else
//     is discarded and rebuilt.
//   - The cache is split into scopes (Request.Scope, one per app): an app's
//     environments and pip download cache are shared only with its own later
//     builds, because its build runs its own code (setup.py,
//     PRE_BUILD_COMMAND), which could otherwise plant a .pth file that
//     another app would run with its secrets. A deleted app's scope goes
//     with it, but for the environments other apps' versions still run (a
//     slot swap moves versions between apps), which it keeps under a new
//     generation of the scope that a new app of its name cannot reach
//     (Builder.RetireScope).
//   - A complete environment is sealed before its marker is written: owned
//     by root, no write bit anywhere, setuid bits dropped. Later builds and
//     the app only read it. The ownership part needs a builder running as
//     root; otherwise only the write bits go, which the builder's user could
//     restore.
//   - Each command says what it may write (Cmd.Writable): the artifact, its
//     HOME, its scope's pip cache and, only while the environment is being
//     built, that environment. The sandboxed Runner binds exactly these.
//   - The commands that build an environment get an empty HOME of their own
//     (so no pip.conf an app's command wrote applies), PYTHONNOUSERSITE=1,
//     and of the app's settings only PIP_* (which are in the key) except
//     PIP_CONFIG_FILE: nothing an app controls outside the key can change
//     what is installed. The machine's /etc/pip.conf is the operator's and
//     applies (a mirror, a proxy, a CA bundle), as does Config.Env.
//   - The artifact stays extracted: no output.tar.gz, and the manifest says
//     CompressDestinationDir="false". The artifact directory is the app path at
//     run time, so nothing needs to be extracted at container start.
//   - The venv is created without --system-site-packages so that its content
//     depends only on the hashed inputs.
//
// An artifact directory is complete only once oryx-manifest.toml exists in it;
// the manifest is written last, atomically, after the tree has been flushed.
package build
