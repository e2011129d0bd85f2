# dxreport — `make help` lists the targets.
# `make report` and `make test` set everything up on their own: they create .venv when it is
# missing and install the pinned environment (requirements.lock) plus this package, register the
# project kernel, fetch the PDF font and, for the browser tests, Debian's chromium.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The project kernel (lib/dxreport/notebook_env.py): the .venv interpreter, registered in the venv's own
# share/jupyter, where any Jupyter started from the venv finds it beside the user's own kernels.
KERNEL := dxreport
KERNEL_SPEC := $(VENV)/share/jupyter/kernels/$(KERNEL)/kernel.json
FONTS := $(VENV)/share/fonts
FONT_STAMP := $(FONTS)/LiberationSerif-Regular.ttf
CHROMIUM ?= /usr/bin/chromium
PROVINCE ?= nghe-an
PERIOD ?=

.DEFAULT_GOAL := help
.PHONY: bench-site help setup fonts chromium report test lab validate bench refresh-expected strip lock clean

help: ## liệt kê các lệnh make
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

$(KERNEL_SPEC): $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))" >/dev/null

setup: $(STAMP) $(KERNEL_SPEC) fonts chromium ## tạo .venv, cài môi trường đã ghim phiên bản, đăng ký kernel "dxreport", tải phông PDF

# The PDF needs a Times-metric serif with full Vietnamese: Liberation Serif from Debian's
# fonts-liberation2, fetched without installing it (apt-get download + dpkg-deb -x) into
# .venv/share/fonts. As root, a missing package list is fetched first. Without apt the build
# falls back to DejaVu Serif and says so.
$(FONT_STAMP):
	@mkdir -p $(FONTS); tmp=$$(mktemp -d); \
	get() { (cd $$tmp && apt-get download fonts-liberation2 >/dev/null 2>&1); }; \
	if ! get && [ "$$(id -u)" = 0 ]; then apt-get update -qq >/dev/null 2>&1; get; fi; \
	if ls $$tmp/fonts-liberation2_*.deb >/dev/null 2>&1 && dpkg-deb -x $$tmp/fonts-liberation2_*.deb $$tmp/x; then \
	  cp $$tmp/x/usr/share/fonts/truetype/liberation2/LiberationSerif-*.ttf $(FONTS)/ && \
	  echo "Đã tải phông Liberation Serif vào $(FONTS)"; \
	else echo "CẢNH BÁO: không tải được phông Liberation Serif (cần apt-get); bản PDF sẽ dùng DejaVu Serif."; fi; \
	rm -rf $$tmp

fonts: $(FONT_STAMP) ## tải phông Liberation Serif (tương đương Times New Roman, đủ tiếng Việt) cho bản PDF

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

report: $(STAMP) $(KERNEL_SPEC) fonts ## dựng báo cáo mặc định (Nghệ An, kỳ gần nhất có số liệu còn mới); PERIOD=2023-Q3 để chọn kỳ
	@$(BIN)/dxreport build --province $(PROVINCE) $(if $(PERIOD),--period $(PERIOD))

# nbval runs each notebook on the kernel its metadata names (dxreport) and on the reference period
# (lib/dxreport/nbval_plugin.py), so new data for another period leaves the expected key figures valid.
test: $(STAMP) $(KERNEL_SPEC) fonts chromium ## chạy toàn bộ kiểm thử: pytest cho gói, nbval cho notebooks/ (kỳ tham chiếu 2023-Q3)
	$(BIN)/python -m pytest tests notebooks --nbval-lax --ignore=tests/fixtures -p no:cacheprovider

lab: $(STAMP) $(KERNEL_SPEC) ## mở JupyterLab ở thư mục dự án (thấy data/, notebooks/, outputs/), kernel "dxreport"
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root)

validate: $(STAMP) ## kiểm tra dữ liệu trong data/
	$(BIN)/dxreport validate

bench: $(STAMP) $(KERNEL_SPEC) fonts ## đo thời gian và bộ nhớ của bản dựng (kết quả ghi vào README)
	$(BIN)/python scripts/benchmark.py

bench-site: $(STAMP) $(KERNEL_SPEC) fonts ## đo trang 8 kỳ so với 8 lần dựng riêng (dxreport site)
	$(BIN)/python scripts/benchmark.py --site 8 --runs 2

refresh-expected: $(STAMP) $(KERNEL_SPEC) ## ghi lại số liệu chính mà nbval so sánh, trên kỳ tham chiếu 2023-Q3
	$(BIN)/python scripts/notebook_tools.py refresh notebooks/[0-9][0-9]-*.ipynb

strip: $(STAMP) ## xóa kết quả chạy khỏi các notebook (trừ số liệu chính nbval so sánh) trước khi commit
	$(BIN)/python scripts/notebook_tools.py strip notebooks/*.ipynb

lock: ## ghim lại phiên bản các gói từ .venv hiện tại vào requirements.lock
	$(BIN)/python -m pip freeze --all --exclude-editable | grep -v -i -E '^(pip|dxreport)[= ]' > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean: ## xóa báo cáo đã dựng và bộ nhớ đệm trong outputs/
	find outputs -mindepth 1 -not -name .gitkeep -not -name README.md -exec rm -rf {} +
