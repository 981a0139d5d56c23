# The agent console in headless Chromium (tests/browser/run.sh): installs
# chromium, Node.js and playwright-core when they are missing.
exec sh tests/browser/run.sh
