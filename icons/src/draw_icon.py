"""Draws Video2Doc's 1024 px source icon (icons/src/icon-1024.png).

Run: python3 icons/src/draw_icon.py (needs Pillow); it also writes every size the bundles use.
"""
from pathlib import Path

from PIL import Image, ImageDraw

S = 1024
img = Image.new("RGBA", (S, S), (0, 0, 0, 0))
d = ImageDraw.Draw(img)
# background: rounded square, vertical gradient indigo -> teal
grad = Image.new("RGBA", (S, S))
gd = ImageDraw.Draw(grad)
for y in range(S):
    t = y / (S - 1)
    c = (int(79 + (20 - 79) * t), int(70 + (184 - 70) * t), int(229 + (166 - 229) * t), 255)
    gd.line([(0, y), (S, y)], fill=c)
mask = Image.new("L", (S, S), 0)
ImageDraw.Draw(mask).rounded_rectangle([64, 64, S - 64, S - 64], radius=200, fill=255)
img.paste(grad, (0, 0), mask)
# a page with folded corner
page = [300, 220, 760, 820]
d.rounded_rectangle(page, radius=40, fill=(255, 255, 255, 245))
d.polygon([(640, 220), (760, 340), (640, 340)], fill=(210, 220, 245, 255))
# a play triangle at the top of the page
d.polygon([(400, 330), (400, 490), (530, 410)], fill=(79, 70, 229, 255))
# text lines
for i, w in enumerate([330, 300, 330, 220]):
    y = 560 + i * 62
    d.rounded_rectangle([380, y, 380 + w, y + 28], radius=14, fill=(20, 184, 166, 255))
out = Path(__file__).with_name("icon-1024.png")
img.save(out)
print(out)

# The sizes the bundles use (what `tauri icon` would make for desktop targets).
icons = Path(__file__).parent.parent
for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
    img.resize((size, size), Image.LANCZOS).save(icons / name)
img.save(icons / "icon.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (256, 256)])
img.save(icons / "icon.icns")
