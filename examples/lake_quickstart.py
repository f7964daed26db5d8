"""Land two runs into a Delta dataset and read it back: `python examples/lake_quickstart.py DIR`."""

import sys

import pyarrow as pa

from headwater.lake import Lake


def main(root: str) -> list[dict[str, object]]:
    dataset = Lake(root).dataset("myorg", "prod", "accounts")
    run = dataset.run_writer()
    run.write(pa.RecordBatch.from_pydict({"Id": ["001", "002"], "Name": ["Acme", "Globex"]}))
    run.commit()
    run = dataset.run_writer()
    run.write(pa.RecordBatch.from_pydict({"Id": ["002"], "Name": ["Globex Corp"]}))
    run.delete(pa.array(["001"]))
    print(run.commit())
    rows: list[dict[str, object]] = dataset.to_arrow().to_pylist()
    return rows


if __name__ == "__main__":
    print(main(sys.argv[1]))
