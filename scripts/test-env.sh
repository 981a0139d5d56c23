# Sourced by scripts/run-tests.sh and scripts/valgrind.sh from the top of
# the tree: the environment every test is run in.
BUILD=${BUILD:-build}
PARCELBOT=${PARCELBOT:-$BUILD/parcelbot}
export BUILD PARCELBOT
export PB_SRCDIR="$PWD"
export CMOCKA_MESSAGE_OUTPUT=TAP
# The KB under test is the one in this tree, whatever the caller has set.
export PARCELBOT_KB="$PWD/kb"
