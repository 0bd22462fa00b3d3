// The self-contained HTML report: the Results view of one run, drawn from the run written into
// the page (#duplex-run) by `duplex bench --html` or the app's Export HTML. No network, no app.
import "./locale";
import "./style.css";

import type { RunView } from "./bindings";
import { renderResults } from "./views/results";

const data = document.getElementById("duplex-run")?.textContent ?? "null";
const view = JSON.parse(data) as RunView | null;
const root = document.getElementById("view-results")!;
renderResults(root, view, { exportable: false });
if (view) document.title = `Duplex report · run ${view.record.id.slice(0, 8)}`;
