#!/usr/bin/python3
"""Render an HTML report in headless Chromium and check it.

    browser_check.py [--chromium EXE] [--figures N] [--out DIR] REPORT.html

For each viewport — 1280×800 (a laptop) and 390×844 (a phone, mobile
emulation) — it loads the page and checks:
  - no console error, uncaught exception or failed load;
  - nothing is wider than the viewport except inside a scroll container
    that itself fits (a wide table scrolls), nothing is cut off by an
    overflow-hidden box, the page does not scroll sideways; at the desktop
    width not even a scroll container may hide content (a table that
    needs scrolling at 1280 px reads as cut off at the right edge);
  - every figure has a non-zero rendered size (an <img> also a decoded
    picture), and there are N of them when --figures N is given;
and saves a full-page screenshot DIR/<name>-<width>.png. Then it prints the
page to PDF with the page size the report's CSS asks for (as `chromium
--print-to-pdf`, which `lsprobe run --format pdf` uses) and checks that the
PDF is A4, that no figure is split across pages and no table cut off at the
paper's edge: markers are put into the top and bottom edge of every figure
and the right edge of every table before printing, and pdftotext must find
each figure's two on the same page and every table's (DIR/<name>.pdf is
kept). With --compare-pdf P, P must have as many A4 pages.

Chromium is driven through its DevTools protocol over a pipe
(--remote-debugging-pipe: NUL-separated JSON on file descriptors 3 and 4);
nothing but Python's standard library, Debian's chromium and poppler-utils
(pdftotext, pdfinfo) is needed. Exit status 0 when every check holds, 1
otherwise (each failure is printed), 2 when it cannot run.
"""
import argparse
import base64
import fcntl
import json
import os
import pathlib
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

# name, width, height, mobile emulation, wide content may scroll in a box
VIEWPORTS = [("desktop", 1280, 800, False, False), ("phone", 390, 844, True, True)]
A4_PT = (595.28, 841.89)  # 210 mm × 297 mm
TIMEOUT = 60.0


class Chromium:
    """A headless Chromium and its DevTools protocol over a pipe."""

    def __init__(self, exe):
        self.profile = tempfile.mkdtemp(prefix="lsp-chromium-")
        cmd_r, self._cmd_w = os.pipe()   # we write commands, Chromium reads fd 3
        self._res_r, res_w = os.pipe()   # Chromium writes fd 4, we read
        args = [exe, "--headless", "--remote-debugging-pipe", "--no-first-run",
                "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--mute-audio",
                "--disable-dev-shm-usage", f"--user-data-dir={self.profile}", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with it

        def child():  # move the pipe ends to 3 and 4 without clobbering each other
            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.log = open(os.path.join(self.profile, "stderr.log"), "w+")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, preexec_fn=child, pass_fds=(3, 4))
        os.close(cmd_r)
        os.close(res_w)
        self._buf = b""
        self._id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._res_r], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._res_r, 1 << 20)
            if not chunk:
                self.log.seek(0)
                raise RuntimeError("Chromium closed the pipe:\n" + self.log.read()[-2000:])
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, session=None, timeout=TIMEOUT, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, session, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        for i, e in enumerate(self.events):
            if e.get("method") == method and e.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method and m.get("sessionId") == session:
                return m
            self.events.append(m)

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._cmd_w, self._res_r):
            os.close(fd)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


# Runs in the page: every layout problem as a sentence. With scrollOk false
# (the desktop width) a scroll box must not need scrolling either: what it
# hides until scrolled counts as cut off.
LAYOUT_JS = r"""
((scrollOk) => {
  const vw = document.documentElement.clientWidth, out = [];
  const name = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (el.className && typeof el.className === 'string') s += '.' + el.className.trim().split(/\s+/).join('.');
    const cap = el.closest('figure, .table-wrap, table');
    const t = cap && cap.querySelector('caption, figcaption');
    if (t) s += ' (in "' + t.textContent.trim().slice(0, 50) + '")';
    return s;
  };
  const scrolls = s => s.overflowX === 'auto' || s.overflowX === 'scroll';
  const doc = document.documentElement;
  if (doc.scrollWidth > vw + 1)
    out.push(`the page scrolls sideways: ${doc.scrollWidth}px wide in a ${vw}px viewport`);
  const reported = new Set();
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    if (s.display === 'none' || (r.width === 0 && r.height === 0)) continue;
    // content hidden by an overflow:hidden/clip box is cut off
    if ((s.overflowX === 'hidden' || s.overflowX === 'clip') && el.scrollWidth > el.clientWidth + 1)
      out.push(`${name(el)} cuts off its content: ${el.scrollWidth}px in ${el.clientWidth}px`);
    if (!scrollOk && scrolls(s) && el.scrollWidth > el.clientWidth + 1)
      out.push(`${name(el)} hides ${el.scrollWidth - el.clientWidth}px of its ` +
               `${el.scrollWidth}px content behind a sideways scroll at ${vw}px`);
    if (r.right <= vw + 1 && r.left >= -1) continue;
    // wider than the viewport: fine only inside a scroll container that fits
    let a = el.parentElement, ok = false;
    for (; a && a !== document.body; a = a.parentElement) {
      if (scrolls(getComputedStyle(a))) {
        const ar = a.getBoundingClientRect();
        ok = ar.left >= -1 && ar.right <= vw + 1;
        break;
      }
    }
    if (ok) continue;
    let top = el;  // report the outermost offender once
    while (top.parentElement && top.parentElement !== document.body &&
           top.parentElement.getBoundingClientRect().right > vw + 1) top = top.parentElement;
    if (reported.has(top)) continue;
    reported.add(top);
    const tr = top.getBoundingClientRect();
    out.push(`${name(top)} is ${Math.round(tr.width)}px wide, reaching ${Math.round(tr.right)}px ` +
             `in a ${vw}px viewport, outside any scroll container`);
  }
  return out;
})"""

FIGURES_JS = r"""
(() => Array.from(document.querySelectorAll('figure')).map((f, i) => {
  const cap = f.querySelector('figcaption');
  const pic = f.querySelector('svg, img, object, embed, canvas');
  const r = pic ? pic.getBoundingClientRect() : {width: 0, height: 0};
  let why = '';
  if (!pic) why = 'has no picture (svg or img)';
  else if (!(r.width > 0 && r.height > 0)) why = `is ${r.width}x${r.height}px`;
  else if (pic.tagName === 'IMG' && !(pic.complete && pic.naturalWidth > 0)) why = 'has an image that did not load';
  else if (pic.tagName === 'svg' && pic.getBBox && pic.getBBox().width === 0) why = 'has an empty drawing';
  return {index: i, caption: cap ? cap.textContent.trim().slice(0, 60) : '',
          width: r.width, height: r.height, why};
}))()
"""

# Runs in the page before printing: markers at the top and bottom edge of
# every figure and at the right edge of every table's header row, as tiny
# white text that pdftotext finds on the page where it was printed (Chromium
# leaves text outside the paper out of the PDF, so a table cut off at the
# right loses its marker).
MARK_JS = r"""
(() => {
  const st = document.createElement('style');
  st.textContent = 'figure{position:relative} .lsp-mark{position:absolute;' +
                   'font:4px/1 monospace;color:#fff;white-space:nowrap}';
  document.head.appendChild(st);
  const mark = (parent, text, css) => {
    const m = document.createElement('span');
    m.className = 'lsp-mark';
    Object.assign(m.style, css);
    m.textContent = text;
    parent.appendChild(m);
  };
  const figs = document.querySelectorAll('figure');
  figs.forEach((f, i) => {
    const n = String(i).padStart(3, '0');
    mark(f, `LSPFIGT${n}Z`, {top: '0', left: '0'});
    mark(f, `LSPFIGB${n}Z`, {bottom: '0', left: '0'});
  });
  const tabs = document.querySelectorAll('table');
  tabs.forEach((t, i) => {
    const cells = t.querySelectorAll('tr:first-child > :last-child');
    if (!cells.length) return;
    cells[0].style.position = 'relative';
    mark(cells[0], `LSPTABR${String(i).padStart(3, '0')}Z`, {top: '0', right: '0'});
  });
  return [figs.length, tabs.length];
})()
"""


def console_errors(events, session):
    errs = []
    for e in events:
        if e.get("sessionId") != session:
            continue
        p = e.get("params", {})
        if e["method"] == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            errs.append("uncaught exception: " + d.get("exception", {}).get("description", d.get("text", "")))
        elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errs.append("console." + p["type"] + ": " + " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif e["method"] == "Log.entryAdded" and p["entry"].get("level") == "error":
            errs.append(f"{p['entry'].get('source', 'log')}: {p['entry'].get('text', '')} "
                        f"{p['entry'].get('url', '')}".strip())
    return errs


def evaluate(br, session, js):
    r = br.call("Runtime.evaluate", session=session, expression=js, returnByValue=True)
    if "exceptionDetails" in r:
        raise RuntimeError("check script failed: " + json.dumps(r["exceptionDetails"])[:300])
    return r["result"]["value"]


def open_page(br, url, width, height, mobile):
    target = br.call("Target.createTarget", url="about:blank")["targetId"]
    s = br.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Page", "Runtime", "Log"):
        br.call(f"{domain}.enable", session=s)
    br.call("Emulation.setDeviceMetricsOverride", session=s, width=width, height=height,
            deviceScaleFactor=1, mobile=mobile)
    br.call("Page.navigate", session=s, url=url)
    br.wait_event("Page.loadEventFired", s)
    evaluate(br, s, "document.fonts.ready.then(() => true)")
    return target, s


def pdf_markers(pdf):
    """{(kind, index, edge): page} of the markers pdftotext finds."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    where = {}
    for page, t in enumerate(text.split("\f"), 1):
        for m in re.finditer(r"LSP(FIG|TAB)([TBR])(\d{3})Z", t):
            where.setdefault((m.group(1), int(m.group(3)), m.group(2)), page)
    return where


def pdf_page_sizes(pdf):
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(pdf)], capture_output=True,
                          text=True, check=True).stdout
    return [tuple(map(float, m)) for m in
            re.findall(r"Page +\d+ size: +([\d.]+) x ([\d.]+) pts", info)]


def check_print(br, url, out, name, compare_pdf):
    """Print in a fresh tab (no device emulation: as `chromium
    --print-to-pdf` does) at the paper size the page's CSS asks for."""
    failures = []
    target = br.call("Target.createTarget", url="about:blank")["targetId"]
    s = br.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Page", "Runtime"):
        br.call(f"{domain}.enable", session=s)
    br.call("Page.navigate", session=s, url=url)
    br.wait_event("Page.loadEventFired", s)
    evaluate(br, s, "document.fonts.ready.then(() => true)")
    nfig, ntab = evaluate(br, s, MARK_JS)
    pdf = br.call("Page.printToPDF", session=s, printBackground=True, preferCSSPageSize=True,
                  timeout=120)
    br.call("Target.closeTarget", targetId=target)
    path = out / f"{name}.pdf"
    path.write_bytes(base64.b64decode(pdf["data"]))
    sizes = pdf_page_sizes(path)
    off = [i + 1 for i, sz in enumerate(sizes)
           if abs(sz[0] - A4_PT[0]) > 1 or abs(sz[1] - A4_PT[1]) > 1]
    if not sizes or off:
        failures.append(f"PDF: pages {off or '?'} are not A4 ({sizes[0] if sizes else 'none'} pt)")
    marks = pdf_markers(path)
    for i in range(nfig):
        t, b = marks.get(("FIG", i, "T")), marks.get(("FIG", i, "B"))
        if t is None or b is None:
            failures.append(f"PDF: figure {i + 1} is missing from the PDF")
        elif t != b:
            failures.append(f"PDF: figure {i + 1} is split across pages {t} and {b}")
    for i in range(ntab):
        if ("TAB", i, "R") not in marks:
            failures.append(f"PDF: table {i + 1} is cut off at the right edge of the paper")
    print(f"PDF: {len(sizes)} pages of {sizes[0][0]:.0f} x {sizes[0][1]:.0f} pt, {nfig} figures, "
          f"{ntab} tables -> {path}")
    if compare_pdf:
        other = pdf_page_sizes(compare_pdf)
        if len(other) != len(sizes) or any(abs(a[0] - b[0]) > 1 or abs(a[1] - b[1]) > 1
                                           for a, b in zip(other, sizes)):
            failures.append(f"{compare_pdf}: {len(other)} pages ({other[:1]}), but the page "
                            f"prints as {len(sizes)} ({sizes[:1]})")
        else:
            print(f"{compare_pdf}: the same {len(other)} A4 pages")
    return failures


def check(report, exe, out, figures, compare_pdf=None):
    report = pathlib.Path(report).resolve()
    url = report.as_uri()
    name = report.stem
    failures = []
    br = Chromium(exe)
    try:
        for label, w, h, mobile, scroll_ok in VIEWPORTS:
            target, s = open_page(br, url, w, h, mobile)
            where = f"{label} {w}x{h}"
            problems = evaluate(br, s, f"{LAYOUT_JS}({'true' if scroll_ok else 'false'})")
            failures += [f"{where}: {p}" for p in problems]
            figs = evaluate(br, s, FIGURES_JS)
            failures += [f"{where}: figure {f['index'] + 1} (\"{f['caption']}\") {f['why']}"
                         for f in figs if f["why"]]
            if figures is not None and len(figs) != figures:
                failures.append(f"{where}: {len(figs)} figures, expected {figures}")
            size = br.call("Page.getLayoutMetrics", session=s)["cssContentSize"]
            shot = br.call("Page.captureScreenshot", session=s, format="png",
                           captureBeyondViewport=True,
                           clip={"x": 0, "y": 0, "width": max(w, size["width"]),
                                 "height": size["height"], "scale": 1})
            png = out / f"{name}-{w}.png"
            png.write_bytes(base64.b64decode(shot["data"]))
            print(f"{where}: {len(problems)} layout problems, {len(figs)} figures "
                  f"({sum(1 for f in figs if not f['why'])} drawn), page "
                  f"{round(size['width'])}x{round(size['height'])}px -> {png}")
            br.call("Target.closeTarget", targetId=target)
            failures += [f"{where}: {e}" for e in console_errors(br.events, s)]
        failures += check_print(br, url, out, name, compare_pdf)
    finally:
        br.close()
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report")
    ap.add_argument("--chromium", default=os.environ.get("LSPROBE_CHROMIUM") or
                    shutil.which("chromium") or shutil.which("chromium-browser"))
    ap.add_argument("--figures", type=int, default=None)
    ap.add_argument("--out", default=".")
    ap.add_argument("--compare-pdf", default=None,
                    help="a PDF of the same page (report.pdf): same number of A4 pages")
    a = ap.parse_args()
    if not a.chromium:
        print("browser_check: no chromium found (Debian: apt-get install chromium)")
        return 2
    for tool in ("pdftotext", "pdfinfo"):
        if not shutil.which(tool):
            print(f"browser_check: {tool} not found (Debian: poppler-utils)")
            return 2
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    failures = check(a.report, a.chromium, out, a.figures, a.compare_pdf)
    for f in failures:
        print("FAIL -", f)
    print(f"browser_check: {a.report}: {'ok' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
