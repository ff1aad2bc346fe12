#!/usr/bin/env bash
# Renders report.html of the README's main job (Kp1084 200 kb, bundled model, all 1019
# JASPAR motifs) in headless Chromium (Debian package `chromium`), saves a screenshot,
# and checks that the page logged no JavaScript error, that the screenshot is not blank,
# and that the report is under 5 MB.
#
#   scripts/report_screenshot.sh [GLANCE] [PNG]
#     GLANCE  the binary (default: target/release/glance, else target/debug/glance)
#     PNG     where the screenshot goes (default: docs/img/report.png)
#
# Needs /usr/bin/chromium (apt-get install -y chromium) and python3 (standard library).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
glance=${1:-}
if [ -z "$glance" ]; then
    glance=target/release/glance
    [ -x "$glance" ] || glance=target/debug/glance
fi
png=${2:-docs/img/report.png}
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "report_screenshot: $chromium not found (apt-get install -y chromium)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$glance" run "$repo/test-data/Kp1084_200kb.fa.gz" --outdir "$tmp/out" --tracks -q
report="$tmp/out/report.html"
bytes=$(stat -c %s "$report")
echo "report_screenshot: report.html is $bytes bytes"
[ "$bytes" -lt 5000000 ] || { echo "report_screenshot: report.html is over 5 MB" >&2; exit 1; }

# --enable-logging=stderr --v=0 prints the page's console messages (and uncaught
# exceptions) as INFO:CONSOLE lines.
mkdir -p "$(dirname "$png")"
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$tmp/profile" --window-size=1200,3300 \
    --enable-logging=stderr --v=0 --screenshot="$tmp/shot.png" "file://$report" \
    >"$tmp/chromium.log" 2>&1 || { cat "$tmp/chromium.log" >&2; exit 1; }
if grep -E "CONSOLE.*(Uncaught|Error|error)" "$tmp/chromium.log"; then
    echo "report_screenshot: the page logged JavaScript errors" >&2
    exit 1
fi
python3 - "$tmp/shot.png" <<'EOF'
# Decodes the PNG (8-bit RGB/RGBA, standard library only) and checks it is not blank.
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width, height, ctype = 8, b"", 0, 0, 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), "expected 8-bit RGB or RGBA"
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), width * bpp
prev, rows, i = bytearray(stride), [], 0
for _ in range(height):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
pixels = width * height
inked = sum(1 for r in rows for x in range(0, stride, bpp) if min(r[x:x + 3]) < 200)
colours = len({bytes(r[x:x + 3]) for r in rows[::7] for x in range(0, stride, bpp * 7)})
print(f"report_screenshot: {width}x{height}, {inked / pixels:.1%} of pixels inked, {colours} colours")
assert inked / pixels > 0.03 and colours > 50, "the screenshot looks blank"
EOF
cp "$tmp/shot.png" "$png"
echo "report_screenshot: ok: no JavaScript errors; screenshot in $png"
