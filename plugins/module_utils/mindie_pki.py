# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CA and component certificate building for MindIE, with the document's rules.

Imports nothing from Ansible: the in-pod script (roles/pki/files/mindie_gen_cert.py) imports this
file from the directory it is mounted in, next to kmc.py, so the modules and the pods sign with the
same code. Only the standard library and ``cryptography`` (38 and newer).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import datetime
import ipaddress
import json
import os
import secrets
import string

try:
    from ansible_collections.ascend.mindie.plugins.module_utils import kmc
except ImportError:  # inside a pod: kmc.py is mounted beside this file
    import kmc  # type: ignore

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - reported by the callers
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = _exc

PASSWORD_MIN_LEN = 8
PASSWORD_MAX_LEN = 128  # MindIE's KMC wrapper and Motor cap password files at 128
# The special characters the MindIE password rules list (space included).
PASSWORD_SPECIALS = "~!@#$%^&*()-_=+\\|[{}];:'\",<.>/? "
# Generated passwords: 32 characters (Motor's old decrypt buffer held 33 bytes) from a set that
# needs no quoting in shells, JSON or YAML.
GENERATED_PASSWORD_LEN = 32
GENERATED_SPECIALS = "!#%+-.:=@^_~"
# Words that, with digits or special characters added around them, make the passwords tried first.
# Not in MindIE's written rules; refused because "password1" passes those rules.
COMMON_PASSWORD_WORDS = frozenset((
    "password", "passw0rd", "p@ssw0rd", "p@ssword", "admin", "administrator", "root", "huawei", "ascend",
    "mindie", "changeme", "welcome", "qwerty", "qwertyuiop", "abc", "abcd", "abcdef", "abcdefgh", "letmein",
    "iloveyou", "secret", "default", "test", "guest", "user", "login", "master", "dragon", "monkey",
))
MIN_RSA_BITS = 3072  # "证书私钥的长度要求>=3072"
MAX_RSA_BITS = 16384
SUBJECT_FIELDS = (("C", "countryName"), ("ST", "stateOrProvinceName"), ("L", "localityName"),
                  ("O", "organizationName"), ("OU", "organizationalUnitName"), ("CN", "commonName"))
CA_KEY_NAME, CA_CSR_NAME, CA_CERT_NAME = "ca.key.pem", "ca.csr", "ca.pem"
# The trust bundle beside the issuing CA in a component bundle: intermediate(s), then the root.
CA_CHAIN_NAME = "ca_chain.pem"
# When no DNS name is permitted, the intermediate permits only this reserved name (RFC 6761), so
# that no real DNS name can be certified (a type without a permitted subtree is unconstrained).
NO_DNS_SUBTREE = "invalid"
# A component's security directory (mounted at /mnt/security): file -> (relative path, mode). The one
# home of this layout: kmc_import writes it, gen_cert.json below points into it.
SECURITY_LAYOUT = {
    "ca_cert": ("security/ca/ca.pem", 0o400),
    "ca_key": ("security/ca/ca.key.pem", 0o400),
    "ca_key_pwd": ("security/ca/ca_passwd.txt", 0o400),
    "ca_chain": ("security/ca/" + CA_CHAIN_NAME, 0o400),
    "kmc_ksf_master": ("tools/pmt/master/ksfa", 0o600),
    "kmc_ksf_standby": ("tools/pmt/standby/ksfb", 0o600),
}
GEN_CERT_NAME = "gen_cert.json"
CERT_INFO_NAME = "cert_info.json"
# The document's gen_cert.json (paths relative to the project directory).
GEN_CERT_DEFAULTS = dict([(key, "./" + SECURITY_LAYOUT[key][0])
                          for key in ("ca_cert", "ca_key", "ca_key_pwd", "kmc_ksf_master", "kmc_ksf_standby")]
                         + [("cert_config", "./" + CERT_INFO_NAME), ("output_path", "./gen_cert_output")])


def component_files():
    """Every file of a component's project directory, relative to it: the layout, then the two documents."""
    return [rel for rel, _mode in SECURITY_LAYOUT.values()] + [GEN_CERT_NAME, CERT_INFO_NAME]


class PkiError(Exception):
    """A rule was broken or material is unusable; the message says which and what to do."""


def require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise PkiError("the python 'cryptography' package (38 or newer) is required: %s" % CRYPTOGRAPHY_IMPORT_ERROR)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


# passwords --------------------------------------------------------------------------------
def password_problems(password, account_names=()):
    """Every rule of the MindIE password policy that ``password`` breaks (never echoes it)."""
    problems = []
    if not isinstance(password, str):
        return ["the password must be a string"]
    length = len(password)
    if length < PASSWORD_MIN_LEN:
        problems.append("it has %d characters, at least %d are required" % (length, PASSWORD_MIN_LEN))
    if length > PASSWORD_MAX_LEN:
        problems.append("it has %d characters, MindIE accepts at most %d" % (length, PASSWORD_MAX_LEN))
    classes = {
        "lower case letter": any(c in string.ascii_lowercase for c in password),
        "upper case letter": any(c in string.ascii_uppercase for c in password),
        "digit": any(c in string.digits for c in password),
        "special character": any(c in PASSWORD_SPECIALS for c in password),
    }
    present = [name for name, found in classes.items() if found]
    if len(present) < 2:
        problems.append("it uses %s; at least two of lower case letter, upper case letter, digit, special "
                        "character (%s) are required" % (" and ".join(present) or "no allowed character class",
                                                         PASSWORD_SPECIALS))
    allowed = set(string.ascii_letters + string.digits + PASSWORD_SPECIALS)
    bad = [str(i + 1) for i, c in enumerate(password) if c not in allowed]
    if bad:
        problems.append("character position(s) %s are not letters, digits or the allowed special characters "
                        "(control characters such as a newline would corrupt password files)" % ", ".join(bad[:5]))
    core = password.lower().strip(string.digits + PASSWORD_SPECIALS)
    if core in COMMON_PASSWORD_WORDS or (not core and length >= PASSWORD_MIN_LEN and len(set(password)) < 4):
        problems.append("it is a common password (a well-known word or sequence with digits or special "
                        "characters around it)")
    for account in account_names or ():
        if account and password.lower() in (account.lower(), account.lower()[::-1]):
            problems.append("it equals the account name %r or its reverse" % account)
    return problems


def validate_password(password, what="the password", account_names=()):
    problems = password_problems(password, account_names)
    if problems:
        raise PkiError("%s breaks the MindIE password rules: %s" % (what, "; ".join(problems)))


def generate_password(length=GENERATED_PASSWORD_LEN):
    """Random password with all four character classes (so it passes every rule)."""
    alphabet = string.ascii_letters + string.digits + GENERATED_SPECIALS
    while True:
        candidate = "".join(secrets.choice(alphabet) for dummy in range(length))
        if (any(c.islower() for c in candidate) and any(c.isupper() for c in candidate)
                and any(c.isdigit() for c in candidate) and any(c in GENERATED_SPECIALS for c in candidate)):
            return candidate


# names ------------------------------------------------------------------------------------
def subject_to_name(subject):
    """x509.Name in the document's order C, ST, L, O, OU, CN; only CN is required."""
    require_cryptography()
    if not isinstance(subject, dict):
        raise PkiError("the subject must be a mapping of C, ST, L, O, OU, CN, got %r" % (subject,))
    unknown = sorted(set(subject) - set(k for k, dummy in SUBJECT_FIELDS))
    if unknown:
        raise PkiError("unknown subject field(s) %s; allowed: C, ST, L, O, OU, CN" % ", ".join(unknown))
    if not subject.get("CN"):
        raise PkiError("the subject needs a CN (common name)")
    attrs = []
    for short, long_name in SUBJECT_FIELDS:
        value = subject.get(short)
        if value in (None, ""):
            continue
        value = str(value)
        if short == "C" and (len(value) != 2 or not value.isalpha() or not value.isupper()):
            raise PkiError("subject C must be a two-letter upper-case country code (ISO 3166), got %r" % value)
        if len(value) > 64:
            raise PkiError("subject %s is %d characters long, X.509 allows 64" % (short, len(value)))
        attrs.append(x509.NameAttribute(getattr(NameOID, _OID_NAMES[short]), value))
    return x509.Name(attrs)


_OID_NAMES = {"C": "COUNTRY_NAME", "ST": "STATE_OR_PROVINCE_NAME", "L": "LOCALITY_NAME",
              "O": "ORGANIZATION_NAME", "OU": "ORGANIZATIONAL_UNIT_NAME", "CN": "COMMON_NAME"}


def name_to_dict(name):
    out = {}
    for short, oid_name in _OID_NAMES.items():
        values = name.get_attributes_for_oid(getattr(NameOID, oid_name))
        if values:
            out[short] = values[0].value
    return out


# keys -------------------------------------------------------------------------------------
def check_key_size(bits, what="key_size"):
    if not isinstance(bits, int) or bits < MIN_RSA_BITS or bits > MAX_RSA_BITS:
        raise PkiError("%s is %r: MindIE requires RSA keys of at least %d bits (at most %d here)"
                       % (what, bits, MIN_RSA_BITS, MAX_RSA_BITS))


def generate_rsa_key(bits):
    require_cryptography()
    check_key_size(bits)
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def encrypt_key_pem(key, password):
    """PKCS#1 PEM encrypted with AES-256-CBC, exactly the shape ``openssl genrsa -aes256`` writes."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.BestAvailableEncryption(password.encode("utf-8")))
    info = describe_key_pem(pem)
    if not (info["pkcs1"] and info["cipher"] == "AES-256-CBC"):
        raise PkiError("this cryptography version wrote a %s key; expected PKCS#1 with AES-256-CBC" % info)
    return pem


def describe_key_pem(pem):
    """Container facts of a PEM private key: PKCS#1 or not, encrypted, DEK-Info cipher."""
    text = pem.decode("ascii", "replace") if isinstance(pem, bytes) else pem
    info = {"pkcs1": "-----BEGIN RSA PRIVATE KEY-----" in text,
            "encrypted": "Proc-Type: 4,ENCRYPTED" in text or "BEGIN ENCRYPTED PRIVATE KEY" in text,
            "cipher": None}
    for line in text.splitlines():
        if line.startswith("DEK-Info:"):
            info["cipher"] = line.split(":", 1)[1].split(",", 1)[0].strip()
    return info


def load_private_key(pem, password, what="the private key"):
    require_cryptography()
    try:
        key = serialization.load_pem_private_key(pem, password=password.encode("utf-8") if password else None)
    except TypeError as exc:
        raise PkiError("%s cannot be loaded: %s" % (what, exc))
    except ValueError:
        raise PkiError("%s cannot be decrypted with the given password, or is not a PEM private key" % what)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PkiError("%s is not an RSA key" % what)
    return key


def public_der(key_or_cert):
    pub = key_or_cert.public_key() if hasattr(key_or_cert, "public_key") else key_or_cert
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# certificates ------------------------------------------------------------------------------
def not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def not_before(cert):
    value = getattr(cert, "not_valid_before_utc", None)
    return value if value is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def days_left(cert, now=None):
    return int((not_after(cert) - (now or utcnow())).total_seconds() // 86400)


def random_serial():
    # Like OpenSSL 3 (x509 -req): 159 random bits, positive, never zero.
    return (int.from_bytes(os.urandom(20), "big") >> 1) | 1


def load_cert(pem, what="the certificate"):
    require_cryptography()
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise PkiError("%s is not a PEM X.509 certificate: %s" % (what, exc))


def build_csr(key, subject):
    return x509.CertificateSigningRequestBuilder().subject_name(subject_to_name(subject)).sign(key, hashes.SHA256())


def ca_extensions(key):
    """The document's [v3_ca] section, in the order openssl writes it."""
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return [
        (ski, False),
        # keyid:always,issuer -> only the key id (openssl adds issuer+serial only if keyid fails)
        (x509.AuthorityKeyIdentifier(key_identifier=ski.digest, authority_cert_issuer=None,
                                     authority_cert_serial_number=None), False),
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                       encipher_only=False, decipher_only=False), True),
    ]


def build_ca_cert(key, subject, valid_days, now=None):
    """Self-signed SHA-256 CA certificate as ``openssl x509 -req -signkey -extensions v3_ca`` makes it."""
    now = now or utcnow()
    name = subject_to_name(subject)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(random_serial()).not_valid_before(now)
               .not_valid_after(now + datetime.timedelta(days=valid_days)))
    for ext, critical in ca_extensions(key):
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(key, hashes.SHA256())


def _ext_map(cert):
    return dict((ext.oid.dotted_string, ext) for ext in cert.extensions)


def ca_problems(cert, key=None, subject=None, renew_before_days=None, now=None):
    """Why an existing CA certificate cannot be kept (empty list = keep it)."""
    now = now or utcnow()
    problems = []
    if cert.version != x509.Version.v3:
        problems.append("the certificate is not X.509 v3")
    if key is not None and public_der(key) != public_der(cert):
        problems.append("the certificate does not belong to the private key")
    if subject is not None and cert.subject != subject_to_name(subject):
        problems.append("the subject is %s, the requested subject is %s"
                        % (cert.subject.rfc4514_string(), subject_to_name(subject).rfc4514_string()))
    if cert.issuer != cert.subject:
        problems.append("the certificate is not self-signed (issuer differs from subject)")
    else:
        try:
            verify_signature(cert, cert)
        except PkiError:
            problems.append("the self-signature does not verify")
    if cert.signature_hash_algorithm is None or cert.signature_hash_algorithm.name != "sha256":
        problems.append("the signature hash is %s, the document uses sha256"
                        % getattr(cert.signature_hash_algorithm, "name", None))
    bits = cert.public_key().key_size if isinstance(cert.public_key(), rsa.RSAPublicKey) else 0
    if bits < MIN_RSA_BITS:
        problems.append("the key has %d bits, MindIE requires at least %d" % (bits, MIN_RSA_BITS))
    have = _ext_map(cert)
    want = dict((ext.oid.dotted_string, (ext, critical)) for ext, critical in
                ca_extensions_for_public_key(cert.public_key()))
    for oid, (ext, critical) in want.items():
        got = have.get(oid)
        if got is None:
            problems.append("extension %s is missing" % ext.__class__.__name__)
        elif got.critical != critical or got.value != ext:
            problems.append("extension %s differs from the document's v3_ca (%s)" % (ext.__class__.__name__, got.value))
    extra = sorted(set(have) - set(want))
    if extra:
        problems.append("unexpected extension(s) %s" % ", ".join(extra))
    left = days_left(cert, now)
    if left < 0:
        problems.append("the certificate expired %d day(s) ago" % -left)
    elif renew_before_days is not None and left < renew_before_days:
        problems.append("the certificate expires in %d day(s), less than the renewal margin of %d"
                        % (left, renew_before_days))
    if not_before(cert) > now + datetime.timedelta(minutes=5):
        problems.append("the certificate is not valid before %s" % not_before(cert).isoformat())
    return problems


class _PubKeyHolder(object):
    def __init__(self, pub):
        self._pub = pub

    def public_key(self):
        return self._pub


def ca_extensions_for_public_key(pub):
    return ca_extensions(_PubKeyHolder(pub))


def verify_signature(cert, issuer_cert):
    """Raise PkiError unless ``cert`` carries a valid signature by ``issuer_cert``'s key."""
    if cert.issuer != issuer_cert.subject:
        raise PkiError("the certificate's issuer %s is not the CA %s"
                       % (cert.issuer.rfc4514_string(), issuer_cert.subject.rfc4514_string()))
    try:
        issuer_cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                                        cert.signature_hash_algorithm)
    except InvalidSignature:
        raise PkiError("the certificate's signature does not verify with the CA key")


def cert_summary(cert, now=None):
    sans = {"IP": [], "DNS": []}
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans["IP"] = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
        sans["DNS"] = list(san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        pass
    return {
        "subject": name_to_dict(cert.subject),
        "issuer": name_to_dict(cert.issuer),
        "serial_number": str(cert.serial_number),
        "not_before": not_before(cert).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": not_after(cert).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days_left": days_left(cert, now),
        "fingerprint_sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "alt_names": sans,
    }


# cert_info.json / gen_cert.json ------------------------------------------------------------
# The document's defaults for a component certificate.
CERT_DAYS = 3650
CERT_KEY_SIZE = 4096


def component_documents(component, spec, subject_defaults):
    """The two files the document's gen_cert tool reads in a component's project directory.

    ``spec``: the component's entry of pki_component_certs (subject, expired_time, serial_number,
    key_size, ips, dns); ``subject_defaults``: the RDN fields every component certificate carries.
    """
    spec = spec or {}
    subject = spec.get("subject") or {}
    rdn = dict(subject_defaults or {})
    rdn.update(subject)
    cert_info = {
        "subject": subject["CN"] if "CN" in subject else "mindie-" + component,
        "expired_time": int(spec.get("expired_time", CERT_DAYS)),
        "serial_number": spec.get("serial_number", "random"),
        "key_size": int(spec.get("key_size", CERT_KEY_SIZE)),
        "req_distinguished_name": rdn,
        "alt_names": {"IP": list(spec.get("ips") or []), "DNS": list(spec.get("dns") or [])},
    }
    return {GEN_CERT_NAME: dict(GEN_CERT_DEFAULTS), CERT_INFO_NAME: cert_info}


def normalize_cert_info(info, extra_ips=(), extra_dns=()):
    """Validate a cert_info.json document (the document's fields) and merge --ip/--dns values.

    ``serial_number`` is an integer (the document's behaviour) or ``"random"``: every pod issues
    its own certificate, and RFC 5280 wants serial numbers unique per CA.
    """
    if not isinstance(info, dict):
        raise PkiError("cert_info.json must be a JSON object")
    unknown = sorted(set(info) - {"subject", "expired_time", "serial_number", "req_distinguished_name",
                                  "alt_names", "key_size"})
    if unknown:
        raise PkiError("cert_info.json has unknown field(s) %s" % ", ".join(unknown))
    days = info.get("expired_time", CERT_DAYS)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 36500:
        raise PkiError("cert_info.json expired_time must be a number of days between 1 and 36500, got %r" % (days,))
    serial = info.get("serial_number", "random")
    if serial != "random" and (not isinstance(serial, int) or isinstance(serial, bool)
                               or not 0 < serial < 2 ** 159):
        raise PkiError("cert_info.json serial_number must be a positive integer below 2**159 or \"random\", got %r"
                       % (serial,))
    rdn = dict(info.get("req_distinguished_name") or {})
    if not rdn.get("CN") and info.get("subject"):
        rdn["CN"] = info["subject"]
    subject_to_name(rdn)  # validates
    alt = info.get("alt_names") or {}
    if not isinstance(alt, dict) or set(alt) - {"IP", "DNS"}:
        raise PkiError("cert_info.json alt_names must be an object with lists IP and DNS")
    ips = []
    for value in list(alt.get("IP") or []) + list(extra_ips):
        try:
            text = str(ipaddress.ip_address(str(value).strip()))
        except ValueError:
            raise PkiError("%r is not an IP address (alt_names.IP / --ip)" % (value,))
        if text not in ips:
            ips.append(text)
    dns = []
    for value in list(alt.get("DNS") or []) + list(extra_dns):
        value = str(value).strip().lower()
        labels = value.rstrip(".").split(".")
        if not value or any(not lbl or len(lbl) > 63 or not all(c.isalnum() or c in "-*" for c in lbl)
                            for lbl in labels):
            raise PkiError("%r is not a DNS name (alt_names.DNS)" % (value,))
        if value not in dns:
            dns.append(value)
    key_size = info.get("key_size", CERT_KEY_SIZE)
    check_key_size(key_size, "cert_info.json key_size")
    return {"subject": rdn, "expired_time": days, "serial_number": serial, "ips": ips, "dns": dns,
            "key_size": key_size}


def resolve_gen_cert(config, project_dir):
    """gen_cert.json paths, resolved against the project directory like the vendor tool does."""
    if not isinstance(config, dict):
        raise PkiError("gen_cert.json must be a JSON object")
    out = {}
    for field, default in GEN_CERT_DEFAULTS.items():
        value = config.get(field, default)
        if not isinstance(value, str) or not value:
            raise PkiError("gen_cert.json %s must be a path, got %r" % (field, value))
        out[field] = os.path.normpath(os.path.join(project_dir, value))
    return out


def read_json(path, what):
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except (IOError, OSError) as exc:
        raise PkiError("cannot read %s %s: %s" % (what, path, exc.strerror or exc))
    except ValueError as exc:
        raise PkiError("%s %s is not valid JSON: %s" % (what, path, exc))


def read_file(path, what):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        raise PkiError("cannot read %s %s: %s" % (what, path, exc.strerror or exc))


# component certificates -------------------------------------------------------------------
def leaf_extensions(leaf_public_key, ca_cert, ips, dns):
    exts = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                       data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                       encipher_only=False, decipher_only=False), True),
        # Components are servers to some peers and clients to others (mutual TLS).
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), False),
        (x509.SubjectKeyIdentifier.from_public_key(leaf_public_key), False),
        (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), False),
    ]
    names = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips] + [x509.DNSName(d) for d in dns]
    if names:
        exts.append((x509.SubjectAlternativeName(names), False))
    return exts


def build_leaf_cert(ca_key, ca_cert, leaf_key, info, now=None):
    """Sign a component certificate from a normalised cert_info (see normalize_cert_info)."""
    now = now or utcnow()
    serial = random_serial() if info["serial_number"] == "random" else info["serial_number"]
    end = min(now + datetime.timedelta(days=info["expired_time"]), not_after(ca_cert))
    builder = (x509.CertificateBuilder().subject_name(subject_to_name(info["subject"]))
               .issuer_name(ca_cert.subject).public_key(leaf_key.public_key()).serial_number(serial)
               .not_valid_before(now).not_valid_after(end))
    for ext, critical in leaf_extensions(leaf_key.public_key(), ca_cert, info["ips"], info["dns"]):
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(ca_key, hashes.SHA256())


def leaf_problems(cert, ca_cert, info, key=None, renew_before_days=None, now=None):
    """Why an issued component certificate no longer matches its CA and cert_info (empty = keep)."""
    problems = []
    try:
        verify_signature(cert, ca_cert)
    except PkiError as exc:
        problems.append(str(exc))
    if key is not None and public_der(key) != public_der(cert):
        problems.append("the certificate does not belong to the private key")
    if cert.subject != subject_to_name(info["subject"]):
        problems.append("the subject is %s, cert_info.json asks for %s"
                        % (cert.subject.rfc4514_string(), subject_to_name(info["subject"]).rfc4514_string()))
    have = cert_summary(cert, now)["alt_names"]
    if sorted(have["IP"]) != sorted(info["ips"]) or sorted(have["DNS"]) != sorted(info["dns"]):
        problems.append("the alt names are IP %s DNS %s, cert_info.json asks for IP %s DNS %s"
                        % (have["IP"], have["DNS"], info["ips"], info["dns"]))
    if info["serial_number"] != "random" and cert.serial_number != info["serial_number"]:
        problems.append("the serial number is %d, cert_info.json asks for %d" % (cert.serial_number,
                                                                                 info["serial_number"]))
    bits = cert.public_key().key_size
    if bits < max(MIN_RSA_BITS, info["key_size"]):
        problems.append("the key has %d bits, %d are required" % (bits, info["key_size"]))
    return problems + expiry_problems(cert, now, renew_before_days)


def expiry_problems(cert, now, renew_before_days=None):
    """Expired, or inside the renewal margin (None = no margin)."""
    left = days_left(cert, now)
    if left < 0:
        return ["the certificate expired %d day(s) ago" % -left]
    if renew_before_days is not None and left < renew_before_days:
        return ["the certificate expires in %d day(s), less than the renewal margin of %d"
                % (left, renew_before_days)]
    return []


# intermediate CA ---------------------------------------------------------------------------
def normalize_networks(values, what):
    """CIDR strings -> sorted unique list of ip_network (host bits refused: a typo, not a range)."""
    nets = []
    for value in values or ():
        try:
            net = ipaddress.ip_network(str(value).strip(), strict=True)
        except ValueError as exc:
            raise PkiError("%s has %r, which is not an address range in CIDR form (e.g. 10.244.0.0/16): %s"
                           % (what, value, exc))
        if net not in nets:
            nets.append(net)
    return sorted(nets, key=lambda n: (n.version, n.network_address, n.prefixlen))


def normalize_dns_subtrees(values, what="permitted_dns"):
    out = []
    for value in values or ():
        name = str(value).strip().lower().lstrip(".")
        labels = name.rstrip(".").split(".")
        if not name or any(not lbl or len(lbl) > 63 or not all(c.isalnum() or c == "-" for c in lbl) for lbl in labels):
            raise PkiError("%s has %r, which is not a DNS name or domain" % (what, value))
        if name not in out:
            out.append(name)
    return sorted(out)


def name_constraints(permitted_ips, permitted_dns):
    """NameConstraints of the intermediate: only these IP ranges and DNS names (nothing else)."""
    if not permitted_ips:
        raise PkiError("the intermediate CA needs at least one permitted address range (the cluster's pod "
                       "and node ranges)")
    subtrees = [x509.IPAddress(net) for net in permitted_ips]
    subtrees += [x509.DNSName(name) for name in (permitted_dns or [NO_DNS_SUBTREE])]
    return x509.NameConstraints(permitted_subtrees=subtrees, excluded_subtrees=None)


def constraints_of(cert):
    """(permitted ip_networks, permitted DNS names) of a CA certificate, or (None, None) without constraints."""
    try:
        nc = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None, None
    subtrees = nc.permitted_subtrees or []
    ips = sorted((s.value for s in subtrees if isinstance(s, x509.IPAddress)),
                 key=lambda n: (n.version, n.network_address, n.prefixlen))
    dns = sorted(s.value for s in subtrees if isinstance(s, x509.DNSName))
    return ips, dns


def names_outside(cert, ips, dns):
    """The names of ``ips``/``dns`` that ``cert``'s name constraints do not permit."""
    permitted_ips, permitted_dns = constraints_of(cert)
    if permitted_ips is None:
        return []
    return names_outside_constraints(permitted_ips, permitted_dns, ips, dns)


def names_outside_constraints(permitted_ips, permitted_dns, ips, dns):
    """The names of ``ips``/``dns`` outside the permitted ranges and DNS subtrees."""
    permitted_dns = permitted_dns or [NO_DNS_SUBTREE]
    bad = []
    for ip in ips:
        addr = ipaddress.ip_address(ip)
        if not any(addr.version == net.version and addr in net for net in permitted_ips):
            bad.append(str(ip))
    for name in dns:
        host = name.lower().rstrip(".")
        if not any(host == base or host.endswith("." + base) for base in permitted_dns):
            bad.append(name)
    return bad


def intermediate_extensions(key, root_cert, permitted_ips, permitted_dns):
    return [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                       encipher_only=False, decipher_only=False), True),
        (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
        (x509.AuthorityKeyIdentifier.from_issuer_public_key(root_cert.public_key()), False),
        # RFC 5280 4.2.1.10: name constraints MUST be critical
        (name_constraints(permitted_ips, permitted_dns), True),
    ]


def build_intermediate_cert(root_key, root_cert, key, subject, valid_days, permitted_ips, permitted_dns, now=None):
    """The per-deployment intermediate: signed by the root, pathlen 0, name-constrained, short-lived."""
    now = now or utcnow()
    name = subject_to_name(subject)
    if name == root_cert.subject:
        raise PkiError("the intermediate CA's subject must differ from the root CA's (%s)" % name.rfc4514_string())
    end = min(now + datetime.timedelta(days=valid_days), not_after(root_cert))
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(root_cert.subject)
               .public_key(key.public_key()).serial_number(random_serial()).not_valid_before(now)
               .not_valid_after(end))
    for ext, critical in intermediate_extensions(key, root_cert, permitted_ips, permitted_dns):
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(root_key, hashes.SHA256())


def intermediate_problems(cert, root_cert, key=None, subject=None, permitted_ips=None, permitted_dns=None,
                          renew_before_days=None, now=None):
    """Why an existing intermediate cannot be kept (empty list = keep it)."""
    problems = []
    try:
        verify_signature(cert, root_cert)
    except PkiError as exc:
        problems.append(str(exc) + " (the root CA was replaced)")
    if key is not None and public_der(key) != public_der(cert):
        problems.append("the certificate does not belong to the private key")
    if subject is not None and cert.subject != subject_to_name(subject):
        problems.append("the subject is %s, the requested subject is %s"
                        % (cert.subject.rfc4514_string(), subject_to_name(subject).rfc4514_string()))
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if not bc.ca or bc.path_length != 0:
            problems.append("basic constraints are %s, expected CA:TRUE, pathlen:0" % bc)
    except x509.ExtensionNotFound:
        problems.append("basic constraints are missing")
    if permitted_ips is not None:
        have_ips, have_dns = constraints_of(cert)
        want_dns = sorted(permitted_dns or [NO_DNS_SUBTREE])
        if have_ips != list(permitted_ips) or have_dns != want_dns:
            problems.append("the name constraints are IP %s DNS %s, the requested ones IP %s DNS %s"
                            % ([str(n) for n in have_ips or []], have_dns, [str(n) for n in permitted_ips], want_dns))
    problems.extend(issuing_ca_problems(cert, renew_before_days, now))
    return problems


def issuing_ca_problems(cert, renew_before_days=None, now=None):
    """What stops a CA certificate (root or intermediate) from issuing component certificates."""
    now = now or utcnow()
    problems = []
    if cert.version != x509.Version.v3:
        problems.append("the certificate is not X.509 v3")
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (bc.ca and ku.key_cert_sign and ku.crl_sign):
            problems.append("the certificate lacks CA:TRUE, keyCertSign or cRLSign")
    except x509.ExtensionNotFound:
        problems.append("the certificate lacks basic constraints or key usage")
    if cert.signature_hash_algorithm is None or cert.signature_hash_algorithm.name not in ("sha256", "sha384", "sha512"):
        problems.append("the signature hash is %s, MindIE expects sha256 or stronger"
                        % getattr(cert.signature_hash_algorithm, "name", None))
    bits = cert.public_key().key_size if isinstance(cert.public_key(), rsa.RSAPublicKey) else 0
    if bits < MIN_RSA_BITS:
        problems.append("the key has %d bits, MindIE requires at least %d" % (bits, MIN_RSA_BITS))
    return problems + expiry_problems(cert, now, renew_before_days)


def load_certs(pem, what="the certificate bundle"):
    require_cryptography()
    # load_pem_x509_certificates needs cryptography 39; pods may have 38 (Debian 12)
    end = b"-----END CERTIFICATE-----"
    certs = []
    for block in pem.split(end)[:-1]:
        certs.append(load_cert(block.strip() + b"\n" + end + b"\n", what))
    if not certs:
        raise PkiError("%s holds no PEM X.509 certificate" % what)
    return certs


def chain_bundle(intermediates, root_cert):
    """PEM trust bundle: intermediate(s) first, then the root."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in list(intermediates) + [root_cert])


def fingerprint(cert):
    return cert.fingerprint(hashes.SHA256()).hex()


def normalize_fingerprint(text):
    """A SHA-256 fingerprint as openssl prints it (AB:CD:..), or plain hex -> lower-case hex; None if not one."""
    if not isinstance(text, str):
        return None
    value = text.strip().lower()
    if value.startswith("sha256 fingerprint="):
        value = value.split("=", 1)[1]
    value = value.replace(":", "")
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        return None
    return value


class IssuingCA(object):
    """The CA as gen_cert.json describes it: certificate, encrypted key, KMC-style password file."""

    def __init__(self, paths, store_result):
        self.paths = paths
        self.keystore = store_result
        self.cert = load_cert(read_file(paths["ca_cert"], "CA certificate"), "CA certificate %s" % paths["ca_cert"])
        try:
            password = store_result.store.decrypt(read_file(paths["ca_key_pwd"], "CA key password file"))
        except kmc.KmcError as exc:
            raise PkiError("cannot decrypt the CA key password file %s: %s" % (paths["ca_key_pwd"], exc))
        self.key = load_private_key(read_file(paths["ca_key"], "CA key"), password.decode("utf-8"),
                                    "CA key %s" % paths["ca_key"])
        if public_der(self.key) != public_der(self.cert):
            raise PkiError("CA key %s does not belong to CA certificate %s" % (paths["ca_key"], paths["ca_cert"]))
        if self.cert.issuer == self.cert.subject:
            problems = [p for p in ca_problems(self.cert) if "renewal margin" not in p]
        else:  # an intermediate: the document's v3_ca rules are for the self-signed root
            problems = issuing_ca_problems(self.cert)
        if problems:
            raise PkiError("CA certificate %s cannot issue certificates: %s" % (paths["ca_cert"], "; ".join(problems)))

    @classmethod
    def from_project(cls, project_dir, gen_cert_name="gen_cert.json"):
        paths = resolve_gen_cert(read_json(os.path.join(project_dir, gen_cert_name), "gen_cert.json"), project_dir)
        try:
            result = kmc.load_pair(paths["kmc_ksf_master"], paths["kmc_ksf_standby"])
        except kmc.KmcError as exc:
            raise PkiError("key store: %s" % exc)
        return cls(paths, result)

    def cert_info(self, extra_ips=(), extra_dns=()):
        info = normalize_cert_info(read_json(self.paths["cert_config"], "cert_info.json"), extra_ips, extra_dns)
        outside = names_outside(self.cert, info["ips"], info["dns"])
        if outside:
            ips, dns = constraints_of(self.cert)
            raise PkiError("%s outside the issuing CA's name constraints (IP %s, DNS %s): certificates for them "
                           "would not verify; add the range to mindie_pod_cidrs / mindie_node_cidrs / "
                           "mindie_service_cidrs or the name to pki_intermediate_permitted_dns"
                           % (", ".join(outside) + (" is" if len(outside) == 1 else " are"),
                              ", ".join(str(n) for n in ips), ", ".join(dns)))
        return info

    def trust_bundle(self):
        """PEM of what verifiers must trust: the chain file beside the CA certificate, or the CA itself
        when it is a self-signed root (bundles made before the intermediate existed)."""
        chain = os.path.join(os.path.dirname(self.paths["ca_cert"]), CA_CHAIN_NAME)
        if os.path.exists(chain):
            data = read_file(chain, "trust bundle")
            certs = load_certs(data, "trust bundle %s" % chain)
            if public_der(certs[0]) != public_der(self.cert):
                raise PkiError("trust bundle %s does not start with the issuing CA %s" % (chain, self.paths["ca_cert"]))
            return data
        if self.cert.issuer != self.cert.subject:
            raise PkiError("the issuing CA %s is an intermediate but %s is missing: verifiers need the root too"
                           % (self.paths["ca_cert"], chain))
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, info, now=None):
        """New key (own random password), certificate; returns (cert, key PEM, password)."""
        password = generate_password()
        key = generate_rsa_key(info["key_size"])
        cert = build_leaf_cert(self.key, self.cert, key, info, now)
        verify_signature(cert, self.cert)
        return cert, encrypt_key_pem(key, password), password
