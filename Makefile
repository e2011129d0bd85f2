# dxreport — `make help` lists the targets.
# `make report` and `make test` set everything up on their own: they create .venv when it is
# missing and install the pinned environment (requirements.lock) plus this package.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
FONTS := $(VENV)/share/fonts
FONT_STAMP := $(FONTS)/LiberationSerif-Regular.ttf
PROVINCE ?= nghe-an
PERIOD ?=

.DEFAULT_GOAL := help
.PHONY: help setup fonts report test lab validate bench refresh-expected lock clean

help: ## liệt kê các lệnh make
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

setup: $(STAMP) fonts ## tạo .venv và cài môi trường đã ghim phiên bản

# The PDF needs a Times-metric serif with full Vietnamese: Liberation Serif from Debian's
# fonts-liberation2, fetched without root (apt-get download + dpkg-deb -x) into .venv/share/fonts.
# Without apt the build falls back to DejaVu Serif and says so.
$(FONT_STAMP):
	@mkdir -p $(FONTS); tmp=$$(mktemp -d); \
	if (cd $$tmp && apt-get download fonts-liberation2 >/dev/null 2>&1) && dpkg-deb -x $$tmp/fonts-liberation2_*.deb $$tmp/x; then \
	  cp $$tmp/x/usr/share/fonts/truetype/liberation2/LiberationSerif-*.ttf $(FONTS)/ && \
	  echo "Đã tải phông Liberation Serif vào $(FONTS)"; \
	else echo "CẢNH BÁO: không tải được phông Liberation Serif (cần apt-get); bản PDF sẽ dùng DejaVu Serif."; fi; \
	rm -rf $$tmp

fonts: ## tải phông Liberation Serif (tương đương Times New Roman, đủ tiếng Việt) cho bản PDF
	@$(MAKE) --no-print-directory $(FONT_STAMP) || true

report: $(STAMP) fonts ## dựng báo cáo mặc định (Nghệ An, quý mới nhất có số liệu); PERIOD=2023-Q3 để chọn kỳ
	$(BIN)/dxreport build --province $(PROVINCE) $(if $(PERIOD),--period $(PERIOD))

test: $(STAMP) fonts ## chạy toàn bộ kiểm thử: pytest cho gói, nbval cho notebooks/
	$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env --ignore=tests/fixtures -p no:cacheprovider

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
