"""Writes stats_fixture.json: two fixed latency samples and the statistics Duplex must
reproduce, computed independently with NumPy and SciPy. Re-run with `python3 make_stats_fixture.py`
(numpy, scipy) if the sample sets change; the Rust test only reads the JSON."""
import json

import numpy as np
from scipy import stats

rng = np.random.default_rng(20261125)
# Latency-like data in µs: right-skewed, with a few ties after rounding.
ws = np.round(rng.lognormal(mean=np.log(20.0), sigma=0.25, size=300), 1)
http = np.round(rng.lognormal(mean=np.log(60.0), sigma=0.35, size=250), 1)
interval = (15.0, 25.0)


def describe(x):
    n = len(x)
    mean = float(np.mean(x))
    sd = float(np.std(x, ddof=1))
    se = sd / np.sqrt(n)
    half = float(stats.t.ppf(0.975, n - 1)) * se
    q = lambda p: float(np.quantile(x, p, method="median_unbiased"))
    jb = stats.jarque_bera(x)
    return {
        "count": n,
        "mean_us": mean,
        "sd_us": sd,
        "se_us": float(se),
        "ci95_low_us": mean - half,
        "ci95_high_us": mean + half,
        "min_us": float(np.min(x)),
        "p50_us": q(0.5),
        "p90_us": q(0.9),
        "p99_us": q(0.99),
        "p999_us": q(0.999),
        "max_us": float(np.max(x)),
        "skewness": float(stats.skew(x, bias=True)),
        "excess_kurtosis": float(stats.kurtosis(x, fisher=True, bias=True)),
        "jarque_bera_p": float(jb.pvalue),
        "ks_normal": float(stats.kstest(x, "norm", args=(mean, sd)).statistic),
        "p_interval_normal": float(stats.norm.cdf(interval[1], mean, sd) - stats.norm.cdf(interval[0], mean, sd)),
        "p_interval_observed": float(np.mean((x >= interval[0]) & (x <= interval[1]))),
    }


welch = stats.ttest_ind(ws, http, equal_var=False)
mw = stats.mannwhitneyu(ws, http, alternative="two-sided", method="asymptotic", use_continuity=True)
# Welch's p underflows to 0 for such different groups; also compare two close groups.
close = ws + rng.normal(0.3, 1.0, size=len(ws)).round(1)
welch_close = stats.ttest_ind(ws, close, equal_var=False)
mw_close = stats.mannwhitneyu(ws, close, alternative="two-sided", method="asymptotic", use_continuity=True)
fixture = {
    "interval_us": interval,
    "ws": ws.tolist(),
    "http": http.tolist(),
    "close": close.tolist(),
    "ws_stats": describe(ws),
    "http_stats": describe(http),
    "welch_t": float(welch.statistic),
    "welch_df": float(welch.df),
    "mann_whitney_u": float(mw.statistic),
    "welch_close_p": float(welch_close.pvalue),
    "welch_close_t": float(welch_close.statistic),
    "mann_whitney_close_u": float(mw_close.statistic),
    "mann_whitney_close_p": float(mw_close.pvalue),
}
with open("stats_fixture.json", "w") as f:
    json.dump(fixture, f, indent=1)
