"""The miniature end-to-end experiment (a small Qwen2 model trained here, SFT to several
depths, GRPO, predicted against observed inversion)."""
