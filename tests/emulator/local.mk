# tests/emulator
