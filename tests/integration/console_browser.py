#!/usr/bin/env python3
"""Drives the real console in headless Chromium (WebDriver, Debian's python3-selenium).

Called by tests/integration/console_browser.rs with the console's URLs; talks back on stdout, one
line each: "DOCK-NOW" asks the test to dock a camera (it answers "docked" on stdin),
"OK ..." reports a check, and any failure is an exception (non-zero exit).
"""
import json
import re
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


def say(*words):
    print(*words, flush=True)


def browser():
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--autoplay-policy=no-user-gesture-required",
                "--mute-audio", "--window-size=1366,768", "--disable-gpu"):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def statuses(driver, needle):
    """HTTP statuses of the responses whose URL contains needle (Chrome's network log)."""
    found = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.responseReceived":
            response = message["params"]["response"]
            if needle in response["url"]:
                found.append(response["status"])
    return found


def wait(driver, what, ready, limit=30):
    try:
        return WebDriverWait(driver, limit, poll_frequency=0.2).until(lambda d: ready(d))
    except Exception as e:
        raise AssertionError(f"{what}: not within {limit}s on {driver.current_url}") from e


def lang_of(driver):
    """The page's language, or None while a navigation replaces it."""
    try:
        return driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
    except Exception:
        return None


def shot(driver, folder, name):
    if folder:
        driver.save_screenshot(f"{folder}/{name}.png")


def set_lang(driver, base, lang):
    """Switches the session's language with the header's button (as a person would)."""
    driver.get(base + "/dock")
    if lang_of(driver) != lang:
        driver.find_element(By.CSS_SELECTOR, "header form button").click()
        wait(driver, "language " + lang, lambda d: lang_of(d) == lang)


# The register's and the protocol's vocabulary: no page may show these, in either language.
CODES = re.compile(
    r"\b(wiped|confirmed|quarantined|discovered|purged|wipe|collection|extraction-completed|refusal"
    r"|replica-scrub|replica-deletion|anonymisation-completed|needs attention|still out|automatic|manual"
    r"|returned by hand|issued_at|issued_by|ended_at|Payload-Oxum)\b"
    r"|\b(clock|gps|sidecar|bmff|name|log|codec)-[a-z]+"
    r"|(^|\s)--[a-z]|os error|audit #|\bj/d\b|\b\d+ j/d"
    # An i18n key shown for want of its text.
    r"|\b[a-z]+(\.[a-z][a-z_-]*)+\b"
)
# English words a French page must not show (and the protocol's purpose codes).
ENGLISH = re.compile(
    r"\b(the|and|of|to|is|not|none|yes|no|Search|Recording|Recordings|camera|Camera|Dock|Hold|Release"
    r"|Report|Registers|State|Flags|Details|docked|hold|release|scrub|days|Download|Submit|View"
    r"|Playback|judicial|disciplinary|training|Facts|Custody)\b"
)
# French words an English page must not show.
FRENCH = re.compile(
    r"\b(Enregistrement|enregistrements|caméra|Rechercher|Conservé|oui|non|jours|Visionner|Valider"
    r"|Extraire|Registres|Rapport|Station d'accueil|judiciaire|choisir)\b"
)


def words_of(driver):
    """What a person reads on the page: the visible text, without what is quoted verbatim
    (camera log lines, a manifest, the technician's detail) or marked in another language."""
    return driver.execute_script("""
        const page = document.documentElement.lang;
        const hidden = [];
        for (const e of document.querySelectorAll('[data-verbatim], [lang]')) {
            if (e === document.documentElement) continue;
            if (e.hasAttribute('data-verbatim') || e.lang !== page) {
                hidden.push([e, e.style.display]);
                e.style.display = 'none';
            }
        }
        const text = document.body.innerText;
        for (const [e, d] of hidden) e.style.display = d;
        return text;
    """)


def check_words(driver, lang, where):
    text = words_of(driver)
    assert text.strip(), f"{where}: empty page"
    found = [m.group(0) for m in CODES.finditer(text)]
    assert not found, f"{where} ({lang}): register/protocol words {found}:\n{text}"
    other = ENGLISH if lang == "fr" else FRENCH
    found = [m.group(0) for m in other.finditer(text)]
    assert not found, f"{where} ({lang}): untranslated words {found}:\n{text}"


def accessible(driver, path, axe):
    """Every drawing (track, chart) has a name a screen reader says; with axe-core given
    (CONSOLE_AXE=path/to/axe.min.js), no axe violation at all."""
    unnamed = driver.execute_script("""
        return Array.from(document.querySelectorAll('svg[role=img]'))
            .filter(s => !(s.getAttribute('aria-label') || '').trim()).length;
    """)
    assert unnamed == 0, f"{path}: {unnamed} drawing(s) without an accessible name"
    if axe:
        driver.execute_script(axe)
        found = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            axe.run(document).then(r => done(r.violations.map(v =>
                v.id + ' x' + v.nodes.length + ' ' + v.nodes.map(n => n.target.join(' ')).join(', '))));
        """)
        assert not found, f"{path}: axe-core: {found}"


def walk(driver, base, lang, paths, axe=None):
    """Every page in one language: the right language, none of the register's codes."""
    set_lang(driver, base, lang)
    for path in paths:
        driver.get(base + path)
        assert lang_of(driver) == lang, (path, lang_of(driver))
        check_words(driver, lang, path)
        accessible(driver, path, axe)
    say(f"OK every page in plain words ({lang}): {len(paths)} pages")


def narrow(driver, base, lang, paths, shots):
    """At 375 px (a phone at the dock) no page scrolls sideways."""
    set_lang(driver, base, lang)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 375, "height": 800, "deviceScaleFactor": 1, "mobile": True})
    try:
        for name, path in paths:
            driver.get(base + path)
            width = driver.execute_script("return document.documentElement.scrollWidth")
            inner = driver.execute_script("return window.innerWidth")
            assert inner == 375, inner
            assert width <= 375, f"{path} is {width} px wide at 375 px ({lang})"
            if name in ("recordings", "recording", "registers"):
                shot(driver, shots, f"{name}-375-{lang}")
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    say(f"OK usable at 375 px ({lang})")


def rows_of(driver, css="#results tr[data-recording]"):
    return [r.get_attribute("data-recording") for r in driver.find_elements(By.CSS_SELECTOR, css)]


def set_value(driver, name, value, form):
    element = driver.find_element(By.CSS_SELECTOR, f"{form} [name={name}]")
    driver.execute_script("arguments[0].value = arguments[1]", element, value)


def choosing(driver, base, camera, stem, by_agent, shots):
    """Tick-boxes into a hold, the holds in force and a release, Extract from a
    recording's page (prefilled, the purpose not preset), the agent found by name."""
    set_lang(driver, base, "fr")
    # The agent by a part of the name, in another case, with the register's suggestions.
    driver.get(base + "/recordings")
    options = driver.find_elements(By.CSS_SELECTOR, "datalist#agents option")
    labels = {o.get_attribute("value"): o.get_attribute("label") for o in options}
    assert "Claire Martin" in labels.get("M100", ""), labels
    field = driver.find_element(By.CSS_SELECTOR, "form.filters [name=agent]")
    assert field.get_attribute("list") == "agents"
    field.send_keys("mARtin")
    driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
    wait(driver, "results by name", lambda d: "agent=mARtin" in d.current_url)
    assert sorted(rows_of(driver)) == sorted(by_agent), (rows_of(driver), by_agent)
    say("OK an agent found by a part of the name, any case, with suggestions")

    # Tick two recordings of a camera, keep them for a procedure.
    driver.get(base + f"/recordings?camera={camera}")
    boxes = driver.find_elements(By.CSS_SELECTOR, "#results tr[data-recording] input[type=checkbox]")
    assert len(boxes) >= 2, len(boxes)
    picked = [b.get_attribute("value") for b in boxes[:2]]
    rows = rows_of(driver)
    assert picked == rows[:2], (picked, rows)
    for b in boxes[:2]:
        b.click()
    shot(driver, shots, "recordings-ticked-fr")
    driver.find_element(By.CSS_SELECTOR, "#pick button[formaction='/hold']").click()
    wait(driver, "the hold form", lambda d: d.find_elements(By.CSS_SELECTOR, "form#hold"))
    chosen = rows_of(driver, "#chosen li[data-recording]")
    assert chosen == picked, (chosen, picked)
    text = driver.find_element(By.CSS_SELECTOR, "form#hold textarea").get_attribute("value")
    assert text.split() == picked, text
    driver.find_element(By.CSS_SELECTOR, "form#hold [name=procedure]").send_keys("PV 2018/77")
    driver.find_element(By.CSS_SELECTOR, "form#hold [name=reason]").send_keys("plainte")
    shot(driver, shots, "hold-fr")
    driver.find_element(By.CSS_SELECTOR, "form#hold button").click()
    wait(driver, "the hold's confirmation", lambda d: d.find_elements(By.CSS_SELECTOR, "#done[data-done=hold]"))
    held = {r.get_attribute("data-recording"): r.get_attribute("data-procedure")
            for r in driver.find_elements(By.CSS_SELECTOR, "#holds tr[data-recording]")}
    assert all(held.get(p) == "PV 2018/77" for p in picked), held
    say("OK ticked recordings kept for a procedure, confirmed, listed in force")
    shot(driver, shots, "holds-fr")
    # Release one of them from the list.
    row = driver.find_element(By.CSS_SELECTOR, f'#holds tr[data-recording="{picked[1]}"]')
    row.find_element(By.CSS_SELECTOR, "[name=reason]").send_keys("classement sans suite")
    row.find_element(By.CSS_SELECTOR, "button").click()
    wait(driver, "the release's confirmation", lambda d: d.find_elements(By.CSS_SELECTOR, "#done[data-done=release]"))
    still = rows_of(driver, "#holds tr[data-recording]")
    assert picked[0] in still and picked[1] not in still, still
    check_words(driver, "fr", "the release's confirmation")
    say("OK a hold released from the list, confirmed")

    # From a recording's page: Hold and Extract, prefilled with it.
    driver.get(base + f"/recordings/{stem}")
    driver.find_element(By.CSS_SELECTOR, "#acts a[href^='/hold']").click()
    wait(driver, "the hold form from the recording", lambda d: d.find_elements(By.CSS_SELECTOR, "form#hold"))
    assert driver.find_element(By.CSS_SELECTOR, "form#hold textarea").get_attribute("value").split() == [stem]
    driver.get(base + f"/recordings/{stem}")
    driver.find_element(By.CSS_SELECTOR, "#acts a[href^='/extract']").click()
    wait(driver, "the extraction form", lambda d: d.find_elements(By.CSS_SELECTOR, "form#extract"))
    assert driver.find_element(By.CSS_SELECTOR, "form#extract textarea").get_attribute("value").split() == [stem]
    purpose = Select(driver.find_element(By.CSS_SELECTOR, "form#extract [name=purpose]"))
    assert purpose.first_selected_option.get_attribute("value") == "", "the purpose is the user's to choose"
    purpose.select_by_value("judicial")
    for name, value in (("requisition", "PV 2018/88"), ("date", "2018-03-20"),
                        ("opj", "Dupont, Commissariat de Romans"), ("reason", "réquisition")):
        set_value(driver, name, value, "form#extract")
    driver.find_element(By.CSS_SELECTOR, "form#extract button[type=submit]").click()
    wait(driver, "the extraction's confirmation",
         lambda d: d.find_elements(By.CSS_SELECTOR, "#done[data-done=extraction]"), limit=60)
    check_words(driver, "fr", "the extraction's result")
    shot(driver, shots, "extracted-fr")
    say("OK Extract and Hold from a recording's page, prefilled; the extraction confirmed")


def head(url, base, camera, by_agent, agent, place, stem, shots, axe_path=None):
    d = browser()
    try:
        d.get(base + "/dock")
        assert "401" in d.title or "session" in d.page_source.lower(), d.page_source[:300]
        say("OK without a session: refused")
        d.get(url)
        for lang in ("fr", "en"):
            d.get(base + "/dock")
            if lang_of(d) != lang:
                d.find_element(By.CSS_SELECTOR, "header form button").click()
                wait(d, "language " + lang, lambda d: lang_of(d) == lang)
            if lang == "fr":
                assert not d.find_elements(By.CSS_SELECTOR, f'[data-camera="{camera}"]')
                say("DOCK-NOW")
                assert sys.stdin.readline().strip() == "docked"
                wait(d, "the docked camera's card, live",
                     lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-camera="{camera}"][data-state="safe"]'))
                say("OK the dock page showed the camera safe without a reload")
            shot(d, shots, f"dock-{lang}")
            d.get(base + f"/recordings?agent={agent}")
            rows = [r.get_attribute("data-recording") for r in d.find_elements(By.CSS_SELECTOR, "tr[data-recording]")]
            assert sorted(rows) == sorted(by_agent), (rows, by_agent)
            shot(d, shots, f"recordings-{lang}")
            lat, lon = place
            d.get(base + f"/recordings?near={lat}%2C{lon}&radius=100")
            rows = [r.get_attribute("data-recording") for r in d.find_elements(By.CSS_SELECTOR, "tr[data-recording]")]
            assert stem in rows, rows
            say(f"OK search by agent and by place ({lang})")
            d.get(base + "/extract")
            shot(d, shots, f"extract-{lang}")
            d.get(base + "/registers")
            shot(d, shots, f"registers-{lang}")
            d.get(base + "/report?from=2018-03-12&to=2018-03-14")
            shot(d, shots, f"report-{lang}")
            # The CSV the page links, as the browser downloads it: French Excel's `;`, BOM
            # and decimal commas in French, plain `,` in English.
            href = d.find_element(By.ID, "csv").get_attribute("href")
            data = d.execute_async_script("""
                const done = arguments[arguments.length - 1];
                fetch(arguments[0], {credentials: 'same-origin'})
                    .then(r => r.arrayBuffer())
                    .then(b => done(Array.from(new Uint8Array(b))))
                    .catch(e => done(String(e)));
            """, href)
            assert isinstance(data, list), data
            raw = bytes(data)
            if lang == "fr":
                assert raw.startswith(b"\xef\xbb\xbf"), raw[:20]
                first = raw[3:].decode("utf-8").splitlines()[0]
                assert ";" in first and "," not in first, first
            else:
                assert not raw.startswith(b"\xef\xbb\xbf"), raw[:20]
                first = raw.decode("utf-8").splitlines()[0]
                assert "," in first and ";" not in first, first
            say(f"OK the report's CSV as the browser downloads it ({lang})")
            d.get(base + f"/recordings/{stem}")
            if lang == "fr":
                assert not d.find_elements(By.CSS_SELECTOR, "video")
                shot(d, shots, f"recording-closed-{lang}")
                d.find_element(By.NAME, "purpose").send_keys("judiciaire")
                d.find_element(By.NAME, "reason").send_keys("PV 2018/42 navigateur")
                d.find_element(By.CSS_SELECTOR, "#consult button").click()
                say("CONSULTED")
                assert sys.stdin.readline().strip() == "traced"
            video = wait(d, "the player", lambda d: d.find_elements(By.CSS_SELECTOR, f'video[data-recording="{stem}"]'))[0]
            d.execute_script("arguments[0].play()", video)
            wait(d, "readyState >= 3", lambda d: d.execute_script("return arguments[0].readyState", video) >= 3)
            t0 = d.execute_script("return arguments[0].currentTime", video)
            wait(d, "currentTime advancing", lambda d: d.execute_script("return arguments[0].currentTime", video) > t0 + 0.3)
            say(f"OK the video plays ({lang})")
            duration = d.execute_script("return arguments[0].duration", video)
            d.execute_script("arguments[0].currentTime = arguments[1]", video, duration / 2)
            wait(d, "seeked", lambda d: not d.execute_script("return arguments[0].seeking", video))
            assert 206 in statuses(d, f"/recordings/{stem}/video"), "no 206 answer to the player"
            say(f"OK the player seeks with a 206 ({lang})")
            d.execute_script("arguments[0].pause()", video)
            shot(d, shots, f"recording-{lang}")
        choosing(d, base, camera, stem, by_agent, shots)
        pages = ["/dock", "/recordings", f"/recordings?agent={agent}", f"/recordings/{stem}",
                 "/extract", f"/extract?recording={stem}", f"/hold?recording={stem}", "/registers",
                 "/registers?done=hold", "/report?from=2018-03-12&to=2018-03-14",
                 "/recordings/NO-SUCH-RECORDING_0001", "/recordings?from=garbage"]
        axe = None
        if axe_path:
            with open(axe_path) as f:
                axe = f.read()
        for lang in ("fr", "en"):
            walk(d, base, lang, pages, axe)
            narrow(d, base, lang, [("recordings", f"/recordings?camera={camera}"),
                                   ("recording", f"/recordings/{stem}"), ("registers", "/registers"),
                                   ("dock", "/dock"), ("extract", f"/extract?recording={stem}"),
                                   ("report", "/report?from=2018-03-12&to=2018-03-14")], shots)
        icon = d.find_element(By.CSS_SELECTOR, "link[rel=icon]").get_attribute("href")
        d.get(icon)
        assert "<svg" in d.page_source, d.page_source[:200]
        say("OK the favicon is served")
    finally:
        d.quit()


def technician(url, base, stem, shots):
    d = browser()
    try:
        d.get(url)
        wait(d, "the dock page first", lambda d: d.current_url.endswith("/dock"))
        assert d.find_elements(By.CSS_SELECTOR, "[data-camera]"), d.page_source[:500]
        menu = [a.get_attribute("pathname") for a in d.find_elements(By.CSS_SELECTOR, "header nav a")]
        assert menu == ["/dock"], menu
        check_words(d, "fr", "/dock (technician)")
        shot(d, shots, "technician-dock-fr")
        say("OK a technician lands on the dock and the menu holds only the dock")
        for path in ("/recordings", f"/recordings/{stem}", "/registers", "/extract", "/report"):
            d.get(base + path)
            assert d.find_elements(By.CSS_SELECTOR, "#not-for-role"), (path, d.page_source[:500])
            check_words(d, "fr", path + " (technician)")
        shot(d, shots, "technician-refused-fr")
        say("OPENED")
        assert sys.stdin.readline().strip() == "no refusal"
        say("OK opening pages wrote no refusal")
        # An act is the daemon's to refuse, and it traces the refusal.
        d.get(base + "/dock")
        d.execute_script("""
            const f = document.createElement('form');
            f.method = 'post'; f.action = '/registers/hold';
            const add = (n, v) => { const i = document.createElement('input');
                i.type = 'hidden'; i.name = n; i.value = v; f.appendChild(i); };
            add('csrf', document.querySelector('input[name=csrf]').value);
            add('recordings', arguments[0]); add('procedure', 'PV 1'); add('reason', 'essai');
            document.body.appendChild(f); f.submit();
        """, stem)
        wait(d, "the refusal", lambda d: d.find_elements(By.CSS_SELECTOR, 'p.error[data-refused="true"]'))
        check_words(d, "fr", "refused hold (technician)")
        say("OK a technician's act is refused, in French")
    finally:
        d.quit()


def search_rows(driver):
    return [r.get_attribute("data-recording") for r in driver.find_elements(By.CSS_SELECTOR, "tr[data-recording]")]


def submit(driver, form):
    before = driver.current_url
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, "the answer to the form", lambda d: d.current_url != before or d.find_elements(By.CSS_SELECTOR, "p.error"))


def set_element(driver, element, value):
    driver.execute_script("arguments[0].value = arguments[1]", element, value)


def local(url, base, inside, outside, place, place_stem, far, stem, shots):
    """Dates are local days, places are typed the French way or chosen by name, the
    extraction form shows its purpose's fields and the server wants a requisition date."""
    d = browser()
    try:
        d.get(url)
        for lang in ("fr", "en"):
            d.get(base + "/recordings")
            if lang_of(d) != lang:
                d.find_element(By.CSS_SELECTOR, "header form button").click()
                wait(d, "language " + lang, lambda d: lang_of(d) == lang)
            form = d.find_element(By.CSS_SELECTOR, "form.filters")
            set_element(d, form.find_element(By.NAME, "from"), "2026-11-30")
            set_element(d, form.find_element(By.NAME, "to"), "2026-12-06")
            submit(d, form)
            rows = search_rows(d)
            assert inside in rows and outside not in rows, (rows, inside, outside)
            say(f"OK the week 30/11..06/12 is Paris days ({lang})")
            shot(d, shots, f"search-days-{lang}")

            d.get(base + "/recordings")
            assert d.find_elements(By.CSS_SELECTOR, f'datalist#places option[value="{place}"]'), d.page_source[:2000]
            form = d.find_element(By.CSS_SELECTOR, "form.filters")
            form.find_element(By.NAME, "near").send_keys(place)
            submit(d, form)
            rows = search_rows(d)
            assert place_stem in rows, rows
            shot(d, shots, f"search-place-{lang}")
            d.get(base + "/recordings")
            form = d.find_element(By.CSS_SELECTOR, "form.filters")
            form.find_element(By.NAME, "near").send_keys(far)
            submit(d, form)
            assert search_rows(d) == [] and d.find_elements(By.ID, "no-result"), search_rows(d)
            d.get(base + "/recordings")
            form = d.find_element(By.CSS_SELECTOR, "form.filters")
            form.find_element(By.NAME, "near").send_keys("45,0463 5,0599")
            submit(d, form)
            assert place_stem in search_rows(d), search_rows(d)
            say(f"OK a named place and a French decimal point filter the search ({lang})")

            d.get(base + "/extract")
            purpose = Select(d.find_element(By.NAME, "purpose"))
            judicial = d.find_element(By.CSS_SELECTOR, 'fieldset[data-purpose="judicial"]')
            other = d.find_element(By.CSS_SELECTOR, 'fieldset[data-purpose="other"]')
            assert not judicial.is_displayed() and not other.is_displayed(), "no purpose chosen yet"
            purpose.select_by_value("administrative")
            assert other.is_displayed() and not judicial.is_displayed()
            purpose.select_by_value("judicial")
            assert judicial.is_displayed() and not other.is_displayed()
            marks = judicial.find_elements(By.CSS_SELECTOR, "abbr.required")
            assert len(marks) == 3, len(marks)
            say(f"OK the form shows only the chosen purpose's fields, required ones marked ({lang})")
            shot(d, shots, f"extract-judicial-{lang}")

            form = d.find_element(By.ID, "extract")
            form.find_element(By.NAME, "recordings").send_keys(stem)
            form.find_element(By.NAME, "requisition").send_keys(f"PV 2026/118-{lang}")
            form.find_element(By.NAME, "opj").send_keys("Dupont, Commissariat de Romans")
            # Past the browser's own check: the server must refuse too.
            d.execute_script("arguments[0].removeAttribute('required')", form.find_element(By.NAME, "date"))
            submit(d, form)
            error = wait(d, "the refusal", lambda d: d.find_elements(By.CSS_SELECTOR, "p.error"))[0].text
            expected = "date de la réquisition" if lang == "fr" else "requisition's date"
            assert expected in error, error
            say(f"OK the server refuses a judicial extraction without its date ({lang})")
            shot(d, shots, f"extract-no-date-{lang}")

            d.get(base + f"/extract?purpose=judicial&recording={stem}")
            form = d.find_element(By.ID, "extract")
            form.find_element(By.NAME, "requisition").send_keys(f"PV 2026/118-{lang}")
            set_element(d, form.find_element(By.NAME, "date"), "2026-11-20")
            form.find_element(By.NAME, "opj").send_keys("Dupont, Commissariat de Romans")
            submit(d, form)
            done = wait(d, "the bag", lambda d: d.find_elements(By.ID, "extracted"))[0]
            handover = d.find_element(By.ID, "handover").text
            words = ("Copier sur un support amovible", "procès-verbal") if lang == "fr" else ("Copying to removable media", "record")
            assert all(w in handover for w in words), handover
            say(f"OK bag {done.get_attribute('data-bag')} ({lang})")
            shot(d, shots, f"extract-done-{lang}")

            d.get(base + f"/recordings/{stem}")
            scale = d.find_elements(By.CSS_SELECTOR, "svg.track g.legend g.scale text")
            north = d.find_elements(By.CSS_SELECTOR, "svg.track g.legend g.north path")
            assert scale and north, d.page_source[:2000]
            label = scale[0].text
            assert label.endswith(" m") or label.endswith(" km"), label
            say(f"OK the track has a scale bar ({label}) and a north arrow ({lang})")
            shot(d, shots, f"recording-track-{lang}")
    finally:
        d.quit()


def sites(url, base, names, site, stems, shots):
    """The search's choice of sites: every site the register knows, one chosen finds its
    recordings, each row naming its site; the dock page names the daemon's site."""
    d = browser()
    try:
        d.get(url)
        for lang in ("fr", "en"):
            set_lang(d, base, lang)
            d.get(base + "/recordings")
            choice = Select(d.find_element(By.CSS_SELECTOR, "form.filters select[name=site]"))
            offered = [o.get_attribute("value") for o in choice.options]
            assert offered == [""] + names, offered
            choice.select_by_value(site)
            d.find_element(By.CSS_SELECTOR, "form.filters button").click()
            wait(d, "the site's results", lambda d: "site=" in d.current_url)
            assert sorted(rows_of(d)) == sorted(stems), (rows_of(d), stems)
            shown = {c.text for c in d.find_elements(By.CSS_SELECTOR, "#results td.site")}
            assert shown == {site}, shown
            kept = Select(d.find_element(By.CSS_SELECTOR, "form.filters select[name=site]"))
            assert kept.first_selected_option.get_attribute("value") == site
            check_words(d, lang, "/recordings?site")
            shot(d, shots, f"recordings-site-{lang}")
            say(f"OK a site chosen ({lang}): {len(stems)} recordings of {site}")
        d.get(base + "/dock")
        wait(d, "the dock's site", lambda d: d.find_elements(By.CSS_SELECTOR, "#site strong"))
        assert d.find_element(By.CSS_SELECTOR, "#site strong").text == site
        say(f"OK the dock's site is {site}")
    finally:
        d.quit()


if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    if args["who"] == "local":
        local(args["url"], args["base"], args["inside"], args["outside"], args["place"],
              args["place_stem"], args["far"], args["stem"], args.get("shots"))
    elif args["who"] == "sites":
        sites(args["url"], args["base"], args["sites"], args["site"], args["stems"],
              args.get("shots"))
    elif args["who"] == "head":
        head(args["url"], args["base"], args["camera"], args["by_agent"], args["agent"],
             args["place"], args["stem"], args.get("shots"), args.get("axe"))
    else:
        technician(args["url"], args["base"], args["stem"], args.get("shots"))
    say("DONE")
