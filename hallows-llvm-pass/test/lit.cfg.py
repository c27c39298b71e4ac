# lit configuration of the Hallows pass plugin's FileCheck tests.
#
# HALLOWS_PLUGIN must name the built plugin (scripts/checks/lit.sh builds it and sets it).
# LLVM's tools (opt, FileCheck) come from `llvm-config --bindir`, where llvm-config is
# $LLVM_CONFIG, else llvm-config-<major> for the LLVM major version of `rustc -vV`.
import os
import re
import shutil
import subprocess

import lit.formats

config.name = "hallows-llvm-pass"
config.test_format = lit.formats.ShTest()
config.suffixes = [".ll", ".rs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(
    os.environ.get("HALLOWS_LIT_OUT", os.path.join(config.test_source_root, "..", "..", "target", "lit-out"))
)


def rustc_llvm_major():
    try:
        out = subprocess.check_output(["rustc", "-vV"], text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        lit_config.fatal("could not run `rustc -vV` ({}); install Rust with rustup".format(e))
    m = re.search(r"^LLVM version: (\d+)", out, re.M)
    if not m:
        lit_config.fatal("`rustc -vV` printed no `LLVM version:` line")
    return m.group(1)


major = rustc_llvm_major()
llvm_config = os.environ.get("LLVM_CONFIG") or shutil.which("llvm-config-" + major) \
    or "/usr/lib/llvm-{}/bin/llvm-config".format(major)
try:
    bindir = subprocess.check_output([llvm_config, "--bindir"], text=True).strip()
except (OSError, subprocess.CalledProcessError):
    lit_config.fatal("could not run {} --bindir; install the Debian packages `llvm-{}-dev` and "
                     "`llvm-{}-tools` (or set LLVM_CONFIG)".format(llvm_config, major, major))
for tool in ("opt", "FileCheck"):
    if not os.path.exists(os.path.join(bindir, tool)):
        lit_config.fatal("{} not found in {}; install the Debian package `llvm-{}-tools`".format(
            tool, bindir, major))

plugin = os.environ.get("HALLOWS_PLUGIN")
if not plugin or not os.path.isfile(plugin):
    lit_config.fatal("set HALLOWS_PLUGIN to the built plugin (libhallows_llvm_pass.so); "
                     "scripts/checks/lit.sh builds it and sets it")

config.environment["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
# rustc (through rustup) needs these to find its toolchain in the tests that load the plugin
# into rustc.
for var in ("HOME", "RUSTUP_HOME", "CARGO_HOME", "RUSTUP_TOOLCHAIN"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
# Tests set the plugin's variables themselves; never inherit them.
for var in list(config.environment):
    if var.startswith("HALLOWS_"):
        del config.environment[var]

config.substitutions.append(("%plugin", plugin))
