# Tessera: the README's two commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CONFIG ?= Config/tessera.json
# Debian packages the build links against, and what the tests start or drive.
BUILD_PACKAGES := pkg-config libssl-dev libsqlite3-dev libldap2-dev libkrb5-dev libpq-dev libsasl2-dev
TEST_PACKAGES := openssl curl python3 python3-venv chromium slapd ldap-utils krb5-kdc krb5-admin-server krb5-user \
	nginx
# The interoperability tests (Tests/Interop): pytest and third-party OAuth clients from PyPI, in a venv.
INTEROP_VENV := .build/interop-venv
INTEROP_REQUIREMENTS := Tests/Interop/requirements.txt
BENCH_PACKAGES := wrk python3 slapd ldap-utils

.PHONY: help run build release test deps test-deps bench format lint clean

help:
	@echo "make run    install what is missing, build release, start tessera serve on 127.0.0.1:8080"
	@echo "make test   install what the tests need, run every test (fails on any failure or skip)"
	@echo "make bench  run the HTTP, token-endpoint and directory benchmarks (Benchmarks/README.md)"
	@echo "make format / make lint   swift format"

# Installs the named Debian packages that are not installed yet (as root, or through sudo).
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing: $$missing"; \
		if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(BUILD_PACKAGES))

# slapd is preseeded unconfigured: the tests start their own servers (slapd, krb5kdc, nginx), no system
# daemon is wanted (Debian's krb5-kdc has no realm until one is created, so it starts none; where the
# system lets packages start services, Debian's nginx starts its default site on port 80, which the tests
# do not use).
test-deps: deps
	@if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
		echo "slapd slapd/no_configuration boolean true" | $$sudo debconf-set-selections
	$(call apt_install,$(TEST_PACKAGES))

build: deps
	swift build

release: deps
	swift build -c release --product tessera

run: release
	@echo
	@echo "Tessera is starting on http://127.0.0.1:8080 with $(CONFIG) (SQLite under var/)."
	@echo "Create the first administrator from another terminal in this directory:"
	@echo "  .build/release/tessera accounts create --managed-id admin@appleid.example.com \\"
	@echo "      --given-name Ada --family-name Admin --role administrator"
	@echo
	.build/release/tessera serve --config $(CONFIG)

# Swift Testing prints a line per skipped test ("… skipped"); a skipped test proves nothing, so it fails
# the run just like a failure does. Then the interoperability suite (Tests/Interop) drives the built
# server with third-party clients; pytest's summary counts skips and xfails, which fail the run too.
test: test-deps
	swift build --build-tests
	@# A test process that crashed cannot stop the servers it started (slapd, krb5kdc, nginx and its stand-in
	@# MDM): end any left.
	@set -o pipefail; status=0; swift test 2>&1 | tee .build/test-output.log || status=$$?; \
		pkill -KILL -f '^/usr/sbin/slapd .*/tessera-slap[d]-' 2>/dev/null || true; \
		pkill -KILL -f '^/usr/sbin/krb5kdc -n -P .*/tessera-kd[c]-' 2>/dev/null || true; \
		pkill -KILL -f '^/usr/sbin/nginx -c .*/tessera-ngin[x]-' 2>/dev/null || true; \
		pkill -KILL -f '^/usr/bin/python3 .*/tessera-ngin[x]-.*/mdm.py' 2>/dev/null || true; exit $$status
	@if grep -E '(^|[^a-z])skipped' .build/test-output.log | grep -vE '0 (tests )?skipped' >/dev/null; then \
		echo "make test: some tests were skipped:"; grep -E 'skipped' .build/test-output.log; exit 1; fi
	@if [ ! -x $(INTEROP_VENV)/bin/python ] || ! cmp -s $(INTEROP_REQUIREMENTS) $(INTEROP_VENV)/requirements.txt; then \
		echo "Installing $(INTEROP_REQUIREMENTS) into $(INTEROP_VENV)"; \
		rm -rf $(INTEROP_VENV) && python3 -m venv $(INTEROP_VENV) && \
		$(INTEROP_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(INTEROP_REQUIREMENTS) && \
		cp $(INTEROP_REQUIREMENTS) $(INTEROP_VENV)/requirements.txt; fi
	@set -o pipefail; INTEROP_TESSERA_BIN="$(CURDIR)/.build/debug/tessera" PYTHONDONTWRITEBYTECODE=1 \
		$(INTEROP_VENV)/bin/python -m pytest Tests/Interop -q -rsx -p no:cacheprovider 2>&1 | tee .build/interop-output.log
	@if grep -E '[0-9]+ (skipped|xfailed|xpassed)|^(SKIPPED|XFAIL|XPASS)' .build/interop-output.log >/dev/null; then \
		echo "make test: some interoperability tests were skipped:"; grep -E 'skipped|xfail|xpass|SKIPPED|XFAIL|XPASS' .build/interop-output.log; exit 1; fi

bench: release
	@if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
		echo "slapd slapd/no_configuration boolean true" | $$sudo debconf-set-selections
	$(call apt_install,$(BENCH_PACKAGES) openssl)
	Benchmarks/http-bench.sh
	Benchmarks/token-bench.sh
	Benchmarks/directory-bench.sh

format:
	swift format format --in-place --recursive Package.swift Sources Tests

lint:
	swift format lint --recursive Package.swift Sources Tests

clean:
	rm -rf .build
