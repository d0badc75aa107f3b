# make report: set up .venv and build the three editions of the report in this folder.
# make test:   set up .venv with the test tools, lint, and run the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CODE := build.py press tests benchmarks
# Debian packages WeasyPrint needs: pango with its FreeType backend, and HarfBuzz for font subsetting.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
# Test-only tools: LibreOffice checks the Word edition (and fills its contents' page numbers
# when a build finds it), Chromium runs the HTML edition in a real browser (driven by
# Playwright, which is told to use it), poppler-utils renders PDF pages for a look by eye.
# LibreOffice allocates with mimalloc where it is installed (press/office.py), so it comes
# with it; a machine without it works as well.
TEST_PACKAGES := libreoffice-writer-nogui chromium poppler-utils libmimalloc2.0

.PHONY: report test lint golden clean system-deps test-deps

# Where LibreOffice is installed, a profile for it is made once and kept in .venv: a report's
# first build starts from it instead of making its own (press/office.py, TEMPLATES).
# press is compiled ahead, as pip does for what it installs: where PYTHONDONTWRITEBYTECODE is
# set, every build compiled it again (50 ms before anything else).
report: $(VENV)/.runtime system-deps
	$(PY) -m press.office
	$(PY) -m compileall -q press
	$(PY) build.py

test: lint system-deps test-deps
	$(PY) -m press.office
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(PY) -m ruff check $(CODE)
	$(PY) -m ruff format --check $(CODE)

# Rewrite tests/golden/*.txt (citations and bibliography per style) after an intended change.
golden: $(VENV)/.dev system-deps
	$(PY) -m tests.golden

$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# $(call apt_install,WHAT,PACKAGES,TEST): when TEST fails, install PACKAGES as root, or say how.
define apt_install
	@if ! { $(3); }; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing $(1): $(2)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2); \
	  else \
	    echo "$(1) missing. Install with:"; \
	    echo "  sudo apt-get install -y $(2)"; \
	    exit 1; \
	  fi; \
	fi
endef

HAS_PANGO = $(PYTHON) -c "import ctypes.util as u, sys; sys.exit(not all(map(u.find_library, ['pangoft2-1.0', 'harfbuzz-subset'])))"
HAS_TEST_TOOLS = command -v soffice >/dev/null && command -v pdftoppm >/dev/null && command -v chromium >/dev/null

system-deps:
	$(call apt_install,WeasyPrint's system libraries,$(SYSTEM_PACKAGES),$(HAS_PANGO))

test-deps:
	$(call apt_install,the test tools (LibreOffice; Chromium; poppler-utils),$(TEST_PACKAGES),$(HAS_TEST_TOOLS))

clean:
	rm -rf output .cache
