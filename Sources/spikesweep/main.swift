import SpikeSweepCLI

SpikeSweep.start()
