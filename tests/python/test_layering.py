"""The layering README.md's Layout promises, checked on every #include: data flows down, areas
include only the areas below them (so there is no include cycle), and SystemC is included only by
the SystemC run (tools/accsim/sim), the models' SystemC modules and the executable's entry point.

    /usr/bin/python3 -m pytest tests/python/test_layering.py
"""
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]', re.M)

# Each area and the areas it may include (its own included). Areas of tools/accsim are named by
# folder; the libraries under them by their top-level folder.
BELOW = {
    "datapath": set(),
    "traces": {"datapath"},
    "models": {"datapath", "traces"},
    "scalesim": {"datapath", "traces", "models"},
    "config": {"datapath", "traces", "models", "scalesim"},
    "report": {"datapath", "traces"},
    "engine": {"datapath", "traces", "models", "scalesim", "config"},
    "sim": {"datapath", "traces", "models", "scalesim", "config", "engine"},
    "sweep": {"datapath", "traces", "models", "scalesim", "config", "engine", "report"},
    "api": {"datapath", "traces", "models", "scalesim", "config", "engine", "report", "sim",
            "sweep"},
    "dist": {"datapath", "engine"},
    "cli": {"api", "config", "report", "sweep", "datapath", "dist"},
}
# The files allowed to include SystemC.
SYSTEMC = re.compile(r"^(tools/accsim/sim/|tools/accsim/cli/main\.cpp$|models/accelerator\.|"
                     r"models/accumulator_unit\.|tests/models/|bench/)")


def sources():
    for top in ("datapath", "traces", "models", "tools/accsim"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith((".h", ".cpp")):
                    path = os.path.relpath(os.path.join(dirpath, name), ROOT)
                    yield path


def area_of(path):
    parts = path.split("/")
    return parts[2] if parts[0] == "tools" else parts[0]


def included_area(header, path):
    """The area an #include names ("config/hw_config.h" -> config), or None for the system's."""
    first = header.split("/")[0]
    if first in BELOW:
        return first
    if "/" not in header and os.path.exists(os.path.join(ROOT, os.path.dirname(path), header)):
        return area_of(path)  # a neighbour in the same folder
    return None


def test_every_include_points_down():
    wrong = []
    for path in sources():
        area = area_of(path)
        text = open(os.path.join(ROOT, path), encoding="utf-8").read()
        for header in INCLUDE.findall(text):
            target = included_area(header, path)
            if target is not None and target != area and target not in BELOW[area]:
                wrong.append(f"{path} includes {header} ({area} -> {target})")
    assert not wrong, "\n".join(wrong)


def test_the_areas_form_no_cycle():
    seen, done = set(), set()

    def visit(area, trail):
        assert area not in seen or area in done, " -> ".join(trail + [area])
        if area in done:
            return
        seen.add(area)
        for below in BELOW[area]:
            visit(below, trail + [area])
        done.add(area)

    for area in BELOW:
        visit(area, [])


def test_only_the_systemc_run_includes_systemc():
    wrong = []
    for path in sources():
        text = open(os.path.join(ROOT, path), encoding="utf-8").read()
        if any(h == "systemc" or h.startswith("systemc.") or h.startswith("sysc/")
               for h in INCLUDE.findall(text)) and not SYSTEMC.match(path):
            wrong.append(path)
    assert not wrong, wrong


def test_report_headers_and_the_public_header_include_no_systemc_model():
    # report/ renders JSON; api/accsim.h is the public header: neither pulls in the simulator.
    for folder in ("tools/accsim/report", "tools/accsim/api"):
        for name in os.listdir(os.path.join(ROOT, folder)):
            if name.endswith(".h"):
                text = open(os.path.join(ROOT, folder, name), encoding="utf-8").read()
                for header in INCLUDE.findall(text):
                    assert not header.startswith(("models/", "sim/", "systemc")), (name, header)
