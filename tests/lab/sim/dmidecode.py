#!/usr/bin/python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Simulated dmidecode for the Atlas lab: SMBIOS type 1 (System Information) from the node profile."""
import json
import os
import sys

PROFILE = os.environ.get("ATLAS_LAB_PROFILE", "/etc/atlas-lab/profile.json")

KEYWORDS = {
    "system-manufacturer": "manufacturer",
    "system-product-name": "product_name",
    "system-version": "version",
    "system-serial-number": "serial",
    "system-uuid": "uuid",
    "system-sku-number": "sku",
    "system-family": "family",
}


def header():
    return "# dmidecode 3.4\nGetting SMBIOS data from sysfs.\nSMBIOS 3.3.0 present.\n"


def type1(dmi):
    return ("\nHandle 0x0001, DMI type 1, 27 bytes\n"
            "System Information\n"
            "\tManufacturer: %(manufacturer)s\n"
            "\tProduct Name: %(product_name)s\n"
            "\tVersion: %(version)s\n"
            "\tSerial Number: %(serial)s\n"
            "\tUUID: %(uuid)s\n"
            "\tWake-up Type: Power Switch\n"
            "\tSKU Number: %(sku)s\n"
            "\tFamily: %(family)s\n\n") % dmi


def main(argv):
    if os.geteuid() != 0:
        sys.stdout.write(header())
        sys.stderr.write("/sys/firmware/dmi/tables/smbios_entry_point: Permission denied\n"
                         "/dev/mem: Permission denied\n")
        return 1
    with open(PROFILE) as fh:
        dmi = json.load(fh)["dmi"]
    if len(argv) == 2 and argv[0] in ("-s", "--string"):
        key = KEYWORDS.get(argv[1])
        if key is None:
            sys.stderr.write("Invalid string keyword: %s\nValid string keywords are:\n" % argv[1])
            for kw in KEYWORDS:
                sys.stderr.write("  %s\n" % kw)
            return 2
        sys.stdout.write(dmi[key] + "\n")
        return 0
    if not argv:
        sys.stdout.write(header() + type1(dmi))
        return 0
    if len(argv) == 2 and argv[0] in ("-t", "--type"):
        sys.stdout.write(header())
        if argv[1] in ("1", "system"):
            sys.stdout.write(type1(dmi))
        return 0
    sys.stderr.write("dmidecode: unsupported option set in the lab simulator: %s\n" % " ".join(argv))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
