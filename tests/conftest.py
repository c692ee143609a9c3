import os

from hypothesis import settings

# The gate profiles ("ci", "dev") are derandomized: every run draws the same (random-looking)
# cases, so a red CI is reproducible and never a coin toss. "stress" draws fresh cases each run
# (HYPOTHESIS_PROFILE=stress, optionally pytest --hypothesis-seed=N): that is how new failures are hunted,
# and each one found becomes a named regression test.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=25, deadline=None, derandomize=True)
settings.register_profile("stress", max_examples=600, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
