# dxreport — `make help` lists the targets.
# `make report` and `make test` set everything up on their own: they create .venv when it is
# missing and install the pinned environment (requirements.lock) plus this package.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PROVINCE ?= nghe-an
PERIOD ?=
CHROMIUM ?= /usr/bin/chromium

.DEFAULT_GOAL := help
.PHONY: help setup report test lab validate bench refresh-expected lock clean chromium

help: ## liệt kê các lệnh make
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@$(MAKE) --no-print-directory chromium
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

setup: $(STAMP) ## tạo .venv và cài môi trường đã ghim phiên bản

report: $(STAMP) ## dựng báo cáo mặc định (Nghệ An, quý mới nhất có số liệu); PERIOD=2023-Q3 để chọn kỳ
	$(BIN)/dxreport build --province $(PROVINCE) $(if $(PERIOD),--period $(PERIOD))

test: $(STAMP) chromium ## chạy toàn bộ kiểm thử: pytest cho gói, nbval cho notebooks/
	$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env --ignore=tests/fixtures -p no:cacheprovider

chromium: ## cài trình duyệt chromium của Debian (kiểm thử trên trình duyệt) khi còn thiếu
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Cài chromium của Debian cho kiểm thử trên trình duyệt (tests/test_browser.py)..."; \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
			|| echo "Không cài được chromium bằng apt-get: kiểm thử trên trình duyệt sẽ thất bại cho đến khi cài được." >&2; \
	else \
		echo "Thiếu trình duyệt chromium ($(CHROMIUM)): kiểm thử trên trình duyệt (tests/test_browser.py) sẽ thất bại." >&2; \
		echo "Hãy cài bằng quyền root: sudo apt-get update && sudo apt-get install -y chromium, rồi chạy lại make test." >&2; \
	fi

lab: $(STAMP) ## mở JupyterLab với kernel của .venv, các notebook dùng tham số mặc định
	JUPYTER_DATA_DIR=$(abspath $(VENV))/share/jupyter $(BIN)/jupyter lab --notebook-dir=notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root)

validate: $(STAMP) ## kiểm tra dữ liệu trong data/
	$(BIN)/dxreport validate

bench: $(STAMP) ## đo thời gian và bộ nhớ của bản dựng (kết quả ghi vào README)
	$(BIN)/python scripts/benchmark.py

refresh-expected: $(STAMP) ## ghi lại số liệu chính mà nbval so sánh (sau khi đổi dữ liệu)
	$(BIN)/python scripts/notebook_tools.py refresh notebooks/*.ipynb

lock: ## ghim lại phiên bản các gói từ .venv hiện tại vào requirements.lock
	$(BIN)/python -m pip freeze --all --exclude-editable | grep -v -i -E '^(pip|dxreport)[= ]' > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean: ## xóa báo cáo đã dựng và bộ nhớ đệm trong outputs/
	find outputs -mindepth 1 -not -name .gitkeep -not -name README.md -exec rm -rf {} +
