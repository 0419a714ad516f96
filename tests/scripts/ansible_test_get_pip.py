"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test downloads get-pip.py from a host our machines cannot reach, and says the script may be
saved by hand into its cache. This stand-in does what get-pip does for ansible-test: put pip into the
fresh virtual environment (from the interpreter's bundled wheel, via ensurepip) and install the
requested packages from the configured package index.
"""
import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY_FLAGS = {"--no-setuptools", "--no-wheel"}

ensurepip.bootstrap(upgrade=True)
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
# ansible-test runs us with a filtered environment: keep the machine's CA bundle (registries behind a
# TLS-inspecting proxy need it).
for bundle in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
    if bundle and os.path.isfile(bundle):
        args = ["--cert", bundle] + args
        break
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
