# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue a MindIE component certificate inside a pod at start-up (the document's boot.sh step).

Mount this file together with kmc.py and mindie_pki.py (the collection's
plugins/module_utils/ files; the ascend.mindie.pki role copies all three into
<mindie_pki_dir>/pod/) into one directory of the container, then run for example:

  python3 mindie_gen_cert.py --security-dir /mnt/security --install-dir "$MIES_INSTALL_PATH" \
      --ip "$POD_IP" --format kmc

Input (read only): <security-dir>/gen_cert.json and everything it names (CA certificate, encrypted CA
key, KMC-style CA password file, key store ksfa/ksfb, cert_info.json), and ca_chain.pem beside the CA
certificate (the trust bundle: the issuing intermediate CA, then the root; --ca-out receives it).
Output (in <install-dir> unless absolute): the certificate, a new encrypted private key and its
password, either as KMC-style ciphertext with a copy of the key store (--format kmc), or as a
plain 0400 file that must be on a memory-backed volume (--format plaintext, MindIE releases without
KMC), or handed to MindIE's own CertTools (--format vendor-kmc: `config_mindie_server_tls_cert.py
<install-dir> import_cert <cert> <key>` from the image, typed the key password at its two prompts
through a pseudo-terminal, never on its command line) so that MindIE 2.x only reads KMC files its own
library wrote. A JSON summary goes to stdout; passwords never do. Only the standard library and
cryptography.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import json
import os
import pty
import re
import select
import shutil
import signal
import sys
import tempfile
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
for _candidate in (_HERE, os.path.join(_HERE, "..", "..", "..", "plugins", "module_utils")):
    if os.path.exists(os.path.join(_candidate, "kmc.py")) and os.path.exists(os.path.join(_candidate, "mindie_pki.py")):
        sys.path.insert(0, os.path.abspath(_candidate))
        break

try:
    import mindie_pki  # noqa: E402  (sits beside this script in the pod)
except ImportError as exc:  # pragma: no cover - exercised by hand
    sys.stderr.write("mindie_gen_cert: error: cannot import mindie_pki/kmc from %s: %s\n" % (_HERE, exc))
    sys.exit(1)

kmc = mindie_pki.kmc  # the very module mindie_pki uses, so its exception classes match

EXIT_ERROR = 1
DEFAULTS = {
    "cert_out": "security/certs/server.pem",
    "key_out": "security/keys/server.key.pem",
    "pass_out": "security/pass/mindie_server_key_pwd.txt",
    "ca_out": "security/ca/ca.pem",
    "ksf_master_out": "tools/pmt/master/ksfa",
    "ksf_standby_out": "tools/pmt/standby/ksfb",
}
MEMORY_FS = ("tmpfs", "ramfs")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="mindie_gen_cert.py",
        description="Issue this pod's MindIE certificate from the read-only CA material in --security-dir.")
    parser.add_argument("--security-dir", default="/mnt/security",
                        help="read-only input directory holding gen_cert.json (default /mnt/security)")
    parser.add_argument("--gen-cert", default="gen_cert.json", help="gen_cert.json name inside --security-dir")
    parser.add_argument("--install-dir", required=True, help="MindIE install dir ($MIES_INSTALL_PATH)")
    parser.add_argument("--ip", action="append", default=[],
                        help="IP(s) for the certificate, comma separated or repeated (Pod IP; Coordinator adds the host IP)")
    parser.add_argument("--dns", action="append", default=[], help="extra DNS name(s), comma separated or repeated")
    parser.add_argument("--format", choices=("kmc", "plaintext", "vendor-kmc"), default="kmc",
                        help="kmc: ciphertext password file + key store (MindIE <= 2.3.0); "
                             "plaintext: 0400 password file on a memory-backed volume (MindIE without KMC); "
                             "vendor-kmc: MindIE's own CertTools import the certificate and write the KMC files")
    parser.add_argument("--vendor-tool", default="scripts/config_mindie_server_tls_cert.py",
                        help="vendor-kmc: MindIE's CertTools script, relative to --install-dir unless absolute")
    parser.add_argument("--vendor-python", default="python3", help="vendor-kmc: the interpreter that runs it")
    parser.add_argument("--vendor-timeout", type=float, default=120, help="vendor-kmc: seconds the tool may take")
    for name, default in sorted(DEFAULTS.items()):
        parser.add_argument("--" + name.replace("_", "-"), default=default,
                            help="output path, relative to --install-dir unless absolute (default %s)" % default)
    parser.add_argument("--allow-disk-plaintext", action="store_true",
                        help="allow --format plaintext to write the password outside tmpfs/ramfs (not recommended)")
    args = parser.parse_args(argv)
    args.ips = [v.strip() for item in args.ip for v in item.split(",") if v.strip()]
    args.dns_names = [v.strip() for item in args.dns for v in item.split(",") if v.strip()]
    if not args.ips:
        parser.error("no IP given: pass --ip $POD_IP (the Coordinator adds the host IP: --ip $POD_IP,$HOST_IP)")
    return args


def _out(args, name):
    value = getattr(args, name)
    return value if os.path.isabs(value) else os.path.join(args.install_dir, value)


def filesystem_type(path):
    """Type of the filesystem holding ``path`` (longest mount point prefix in /proc/self/mounts)."""
    path = os.path.realpath(path)
    best, fstype = "", None
    try:
        with open("/proc/self/mounts") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) < 3:
                    continue
                mount = fields[1].replace("\\040", " ")
                if (path == mount or path.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
                    best, fstype = mount, fields[2]
    except (IOError, OSError):
        return None
    return fstype


def _ensure_dir(path):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)


def run(args):
    issuer = mindie_pki.IssuingCA.from_project(args.security_dir, args.gen_cert)
    for problem in issuer.keystore.problems:
        sys.stderr.write("mindie_gen_cert: warning: key store: %s (using the good copy)\n" % problem)
    info = issuer.cert_info(args.ips, args.dns_names)
    pass_out = _out(args, "pass_out")
    if args.format == "plaintext":
        _ensure_dir(pass_out)
        fstype = filesystem_type(os.path.dirname(pass_out))
        if fstype not in MEMORY_FS and not args.allow_disk_plaintext:
            raise mindie_pki.PkiError(
                "refusing to write a plain password to %s: its filesystem is %s, not tmpfs; mount an emptyDir "
                "with medium: Memory there (or pass --allow-disk-plaintext)" % (os.path.dirname(pass_out), fstype))
    cert, key_pem, password = issuer.issue(info)
    written = {}
    ca_out = _out(args, "ca_out")
    _ensure_dir(ca_out)
    # the trust bundle (intermediate + root), so verifiers reach the root through the issuing CA
    kmc.atomic_write(ca_out, issuer.trust_bundle(), 0o400)
    written["ca_cert"] = ca_out
    for name, data in (("key_out", key_pem), ("cert_out", cert.public_bytes(mindie_pki.serialization.Encoding.PEM))):
        path = _out(args, name)
        _ensure_dir(path)
        kmc.atomic_write(path, data, 0o400)
        written[name[:-4]] = path
    _ensure_dir(pass_out)
    if args.format == "vendor-kmc":
        written.update(vendor_import(args, written["cert"], written["key"], password))
    elif args.format == "kmc":
        master, standby = _out(args, "ksf_master_out"), _out(args, "ksf_standby_out")
        # the component decrypts its password with this copy of the (read-only) mounted key store
        kmc.write_pair(issuer.keystore.store, master, standby, mode=0o600)
        kmc.atomic_write(pass_out, (issuer.keystore.store.encrypt(password) + "\n").encode("ascii"), 0o400)
        written.update({"kmc_ksf_master": master, "kmc_ksf_standby": standby})
    else:
        # Motor strips one trailing newline; write none at all
        kmc.atomic_write(pass_out, password.encode("utf-8"), 0o400)
    if args.format != "vendor-kmc":
        written["passwd"] = pass_out
    summary = mindie_pki.cert_summary(cert)
    summary.update({"format": args.format, "files": written})
    return summary


PROMPT = re.compile(br"password[^\n:]*:\s*$", re.IGNORECASE)
MAX_PROMPTS = 2  # "Password for private key file:" and "Retype password for private key file:"


def converse(argv, password, cwd, timeout, env=None):
    """Run ``argv`` on a pseudo-terminal and type ``password`` at each password prompt (at most twice).
    Returns (exit code, output with the password masked). The password never reaches argv or the env."""
    secret = password.encode("utf-8")
    pid, fd = pty.fork()
    if pid == 0:  # child: the vendor tool, its stdin/stdout/stderr on the terminal
        try:
            os.chdir(cwd)
            os.execvpe(argv[0], argv, env if env is not None else os.environ)
        finally:
            os._exit(127)
    output, pending, prompts, deadline = b"", b"", 0, time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                raise mindie_pki.PkiError("%s did not finish within %ss; its output: %s"
                                          % (os.path.basename(argv[1]), timeout, _tail(output, secret)))
            ready = select.select([fd], [], [], min(left, 1.0))[0]
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            if not chunk:
                break
            output += chunk
            pending += chunk
            if PROMPT.search(pending):
                prompts += 1
                if prompts > MAX_PROMPTS:
                    os.kill(pid, signal.SIGKILL)
                    raise mindie_pki.PkiError("%s asked for a password more than twice (it refused the key "
                                              "password?); its output: %s" % (os.path.basename(argv[1]),
                                                                              _tail(output, secret)))
                os.write(fd, secret + b"\n")
                pending = b""
    finally:
        os.close(fd)
    status = os.waitpid(pid, 0)[1]
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    return code, _tail(output, secret, limit=4000)


def _tail(output, secret, limit=1500):
    return output.replace(secret, b"********").decode("utf-8", "replace")[-limit:]


def _files_under(root):
    found = set()
    for directory, _dirs, names in os.walk(root):
        found.update(os.path.relpath(os.path.join(directory, n), root) for n in names)
    return found


def vendor_import(args, cert_path, key_path, password):
    """MindIE's CertTools import the certificate and its encrypted key into a private project directory;
    their KMC library writes the password file (the one file under security/pass/) and the key store
    (tools/pmt/master/ksfa, tools/pmt/standby/ksfb). Those are then put where the configs name them;
    anything else the tool did is an error that lists what it wrote."""
    tool = _out(args, "vendor_tool")
    if not os.path.isfile(tool):
        raise mindie_pki.PkiError("--format vendor-kmc needs MindIE's CertTools at %s (shipped in the MindIE image "
                                  "as scripts/config_mindie_server_tls_cert.py); not found: use the image's path "
                                  "with --vendor-tool, or --format plaintext for a MindIE release without KMC" % tool)
    project = tempfile.mkdtemp(prefix=".mindie-import-", dir=args.install_dir)
    try:
        os.mkdir(os.path.join(project, "inputs"), 0o700)
        cert_in, key_in = os.path.join(project, "inputs", "cert.pem"), os.path.join(project, "inputs", "cert.key.pem")
        shutil.copyfile(cert_path, cert_in)
        shutil.copyfile(key_path, key_in)  # the key is encrypted; its password only goes to the prompts
        code, output = converse([args.vendor_python, tool, project, "import_cert", cert_in, key_in],
                                password, project, args.vendor_timeout)
        name = os.path.basename(tool)
        if code != 0:
            raise mindie_pki.PkiError("%s import_cert failed (exit %d): %s" % (name, code, output))
        written = sorted(_files_under(project))
        pass_files = [f for f in written if f.startswith("security/pass/")]
        ksf = {"ksf_master_out": "tools/pmt/master/ksfa", "ksf_standby_out": "tools/pmt/standby/ksfb"}
        if len(pass_files) != 1 or any(rel not in written for rel in ksf.values()):
            raise mindie_pki.PkiError("%s import_cert succeeded but did not write one password file under security/pass/ "
                                      "and the key store %s (it wrote: %s)"
                                      % (name, " and ".join(sorted(ksf.values())), ", ".join(written)))
        out = {"passwd": _out(args, "pass_out"), "vendor_tool": tool}
        copies = [(pass_files[0], out["passwd"], 0o400)]
        for opt, rel in sorted(ksf.items()):
            out["kmc_" + opt[:-4]] = _out(args, opt)
            copies.append((rel, out["kmc_" + opt[:-4]], 0o600))
        for rel, dest, mode in copies:
            with open(os.path.join(project, rel), "rb") as handle:
                data = handle.read()
            _ensure_dir(dest)
            kmc.atomic_write(dest, data, mode)
        return out
    finally:
        shutil.rmtree(project, ignore_errors=True)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    old_umask = os.umask(0o077)
    try:
        summary = run(args)
    except (mindie_pki.PkiError, kmc.KmcError) as exc:
        sys.stderr.write("mindie_gen_cert: error: %s\n" % exc)
        return EXIT_ERROR
    except (IOError, OSError) as exc:
        sys.stderr.write("mindie_gen_cert: error: %s\n" % exc)
        return EXIT_ERROR
    finally:
        os.umask(old_umask)
    sys.stdout.write(json.dumps(summary, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
