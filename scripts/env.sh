# Shared settings of the scripts: builds are cached outside the checkout.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/video2doc/target}"
export PATH="$HOME/.cargo/bin:$PATH"
