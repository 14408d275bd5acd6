#!/usr/bin/env bash
# Opens an HTML report in headless Chromium and checks that it is self-contained and renders:
#   1. the HTML has no external references (http(s) URLs, src=, href=, <link, @import, url(, scripts, frames);
#   2. Chromium (installed with apt-get when missing) screenshots it, and its net log shows that the page made no
#      network request (Chromium's own background requests are listed and ignored);
#   3. the screenshot is not blank (more than 10 distinct colours, and some non-white pixels).
# Usage: scripts/check-report.sh REPORT.html OUT.png
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 REPORT.html OUT.png" >&2
  exit 2
fi

report="$(realpath "$1")"
out="$2"
if [ ! -f "$report" ]; then
  echo "check-report: $1 does not exist" >&2
  exit 2
fi

fail() { echo "check-report: FAIL: $*" >&2; exit 1; }

# 1. Static check: nothing in the page may point outside it.
if matches=$(grep -Eion 'https?://|src=|href=|<link|@import|url\(|<script|<iframe|<img|<object|<embed|<base' "$report"); then
  echo "$matches" | head -20 >&2
  fail "$1 has external references or active content (above)"
fi
echo "check-report: no external references in $1"

# 2. Chromium, installed when missing (Debian's package; needs root or sudo).
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "check-report: installing chromium with apt-get"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  browser="$(command -v chromium)"
fi
if command -v fc-list >/dev/null && [ -z "$(fc-list 2>/dev/null | head -1)" ]; then
  echo "check-report: no fonts installed; text will not render" >&2
fi

profile="$(mktemp -d)"
netlog="$profile/netlog.json"
trap 'rm -rf "$profile"' EXIT
rm -f "$out"
"$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" \
  --log-net-log="$netlog" --net-log-capture-mode=Default \
  --screenshot="$out" --window-size=1200,1600 "file://$report" >"$profile/chromium.log" 2>&1 || {
    tail -20 "$profile/chromium.log" >&2
    fail "chromium exited with an error"
  }
[ -s "$out" ] || { tail -20 "$profile/chromium.log" >&2; fail "chromium wrote no screenshot"; }

# 3. The net log. Chromium makes requests of its own even with background networking disabled (component updates,
#    account checks); those have no initiator ("not an origin"). A request the page made has the page (a file://
#    origin, serialized "null") as initiator and network isolation key. Any such request that is not a file fails.
python3 - "$netlog" <<'PY'
import json, sys
path = sys.argv[1]
text = open(path).read().rstrip()
try:
    log = json.loads(text)
except ValueError:
    # Chromium may leave the closing brackets off when it exits; close them.
    log = json.loads(text.rstrip(",") + "]}")
names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
page, browser = set(), set()
for event in log.get("events", []):
    params = event.get("params") or {}
    url = params.get("url")
    if names.get(event.get("type")) != "URL_REQUEST_START_JOB" or not isinstance(url, str):
        continue
    initiator = params.get("initiator", "not an origin")
    isolation = params.get("network_isolation_key", "")
    if initiator != "not an origin" or "file://" in isolation:
        page.add(url)
    else:
        browser.add(url.split("?")[0])
external = sorted(u for u in page if not u.startswith(("file:", "data:", "about:")))
if browser:
    print(f"check-report: ignoring {len(browser)} request(s) Chromium made on its own behalf: {', '.join(sorted(browser))}")
if external:
    print("check-report: FAIL: the page made network requests:", *external, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"check-report: the page made no network request ({len(page)} page request(s), all local)")
PY

# 4. The screenshot is not blank: decode the PNG (zlib only; no PIL needed) and count colours.
python3 - "$out" <<'PY'
import struct, sys, zlib
path = sys.argv[1]
data = open(path, "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit(f"check-report: FAIL: {path} is not a PNG")
pos, idat, header = 8, [], None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        header = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat.append(body)
    pos += 12 + length
width, height, depth, colour, _, _, interlace = header
channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
if depth != 8 or channels is None or interlace:
    sys.exit(f"check-report: FAIL: unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace})")
raw = zlib.decompress(b"".join(idat))
stride = width * channels
previous = bytearray(stride)
colours, non_white = set(), 0
for y in range(height):
    start = y * (stride + 1)
    kind, row = raw[start], bytearray(raw[start + 1:start + 1 + stride])
    if kind == 1:
        for i in range(channels, stride):
            row[i] = (row[i] + row[i - channels]) & 0xFF
    elif kind == 2:
        row = bytearray((a + b) & 0xFF for a, b in zip(row, previous))
    elif kind == 3:
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            row[i] = (row[i] + ((left + previous[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(stride):
            a = row[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    previous = row
    pixels = bytes(row)
    for x in range(0, stride, channels):
        pixel = pixels[x:x + channels]
        colours.add(pixel)
        if pixel[:3] != b"\xff\xff\xff"[:min(3, channels)]:
            non_white += 1
share = non_white / (width * height)
print(f"check-report: screenshot {width}x{height}, {len(colours)} distinct colours, {share:.1%} non-white pixels")
if len(colours) <= 10 or share < 0.005:
    sys.exit("check-report: FAIL: the screenshot is blank")
PY
echo "check-report: OK: $out"
