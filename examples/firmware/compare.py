"""Compares the firmware's output on the device (qemu's Cortex-M4) with the same program's on the
host: every "name index value" line must be on both, f32 values ("0x" and their 8 hex digits)
within the tolerance, integers and "error" lines equal; any other line is a problem. "# " lines
are reported, not compared. Also counts the values that differ in any bit.

    python3 compare.py HOST_OUTPUT DEVICE_OUTPUT
"""
import struct
import sys

# As runtime/tests/support/micro_vectors.rs: the same code on IEEE f32 on both; this allows for
# a differently rounded libm (relative to max(|host|, 1)).
TOLERANCE = 1e-4


def parse(path):
    values, errors, notes = {}, [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# "):
                notes.append(line)
            elif line.startswith("error "):
                errors.append(line)
            elif line:
                parts = line.split(" ")
                if len(parts) != 3 or not parts[1].isdigit():
                    errors.append(f"unexpected line: {line}")
                    continue
                name, index, value = parts
                values[(name, int(index))] = value
    return values, errors, notes


def as_number(value):
    if value.startswith("0x"):
        return struct.unpack(">f", bytes.fromhex(value[2:]))[0], True
    return int(value), False


def main(host_path, device_path):
    host, host_errors, _ = parse(host_path)
    device, device_errors, notes = parse(device_path)
    problems = []
    if set(host) != set(device):
        problems.append(f"different lines: host only {sorted(set(host) - set(device))[:5]}, "
                        f"device only {sorted(set(device) - set(host))[:5]}")
    worst, differing_bits = {}, 0
    for key in sorted(set(host) & set(device)):
        differing_bits += host[key] != device[key]
        (h, is_float), (d, _) = as_number(host[key]), as_number(device[key])
        if is_float:
            diff = abs(h - d)
            worst[key[0]] = max(worst.get(key[0], 0.0), diff)
            if not diff <= TOLERANCE * max(abs(h), 1.0):
                problems.append(f"{key}: host {h!r}, device {d!r}")
        elif h != d:
            problems.append(f"{key}: host {h}, device {d}")
    if host_errors != device_errors:
        problems.append(f"error lines differ: host {host_errors}, device {device_errors}")
    if not host:
        problems.append("no values")
    for line in notes:
        print(line[2:])
    for name, diff in sorted(worst.items()):
        print(f"{name}: largest |host - device| {diff:.3g}")
    print(f"{len(host)} values compared, {differing_bits} differ in any bit, {len(problems)} problems")
    for p in problems[:20]:
        print("MISMATCH", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
