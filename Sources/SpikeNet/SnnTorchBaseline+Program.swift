extension SnnTorchBaseline {
    /// The Python program `SnnTorchBaseline` runs: snnTorch's usual training loop for the
    /// study's network (the snnTorch tutorials' `Net`, `mse_count_loss`, L2 in the loss,
    /// Adam), timed on the batches `spikesweep bench` wrote. It ships inside the binary and is
    /// written next to the data at run time.
    ///
    /// `python baseline.py --versions` prints `{"python", "torch", "snntorch"}`;
    /// `python baseline.py DIR` reads `DIR/case.json` and the frame arrays beside it and
    /// prints one JSON line with the measurement. Either prints `{"missing": MODULE}` and
    /// exits with status 3 when an import fails.
    static let source = #"""
        """snnTorch's training speed on the frames and batches spikesweep bench wrote to DIR.

        Usage: python baseline.py --versions | python baseline.py DIR
        """
        import json
        import os
        import sys
        import time
        from array import array

        try:
            import torch
            import torch.nn as nn
            import snntorch
            import snntorch as snn
            from snntorch import functional as SF
            from snntorch import surrogate
        except ImportError as error:
            print(json.dumps({"missing": error.name or str(error)}), flush=True)
            sys.exit(3)

        INPUTS = 2312
        OUTPUTS = 10


        def versions():
            return {"python": sys.version.split()[0], "torch": torch.__version__, "snntorch": snntorch.__version__}


        def read_array(directory, name, typecode, itemsize, dtype):
            """A little-endian array file as a tensor (int64 when it indexes)."""
            values = array(typecode)
            if values.itemsize != itemsize:
                raise SystemExit(f"array type {typecode!r} is {values.itemsize} bytes here, not {itemsize}")
            with open(os.path.join(directory, name), "rb") as f:
                values.frombytes(f.read())
            if sys.byteorder != "little":
                values.byteswap()
            return torch.frombuffer(values, dtype=dtype).to(torch.int64) if len(values) else torch.zeros(0, dtype=torch.int64)


        class Frames:
            """Sparse frames: recording r has steps recording_step_start[r] ..< [r+1]; step s has
            entries step_entry_start[s] ..< [s+1] of inputs (flattened p*1156 + y*34 + x) and counts."""

            def __init__(self, directory, header):
                self.labels = read_array(directory, "labels.u8", "B", 1, torch.uint8)
                self.recording_step_start = read_array(directory, "recording_step_start.i32", "i", 4, torch.int32)
                self.step_entry_start = read_array(directory, "step_entry_start.i32", "i", 4, torch.int32)
                self.inputs = read_array(directory, "inputs.u16", "H", 2, torch.int16)
                self.counts = read_array(directory, "counts.u8", "B", 1, torch.uint8).to(torch.float32)
                self.steps = header["steps_per_recording"]

            def batch(self, recordings):
                """Dense [T, B, 2312] float32 frames, zero-padded to the batch's longest recording
                (tonic's PadTensors(batch_first=False)), and the labels."""
                x = torch.zeros((max(self.steps[r] for r in recordings), len(recordings), INPUTS), dtype=torch.float32)
                for b, r in enumerate(recordings):
                    s0, s1 = int(self.recording_step_start[r]), int(self.recording_step_start[r + 1])
                    starts = self.step_entry_start[s0:s1 + 1]
                    e0, e1 = int(starts[0]), int(starts[-1])
                    step_of_entry = torch.repeat_interleave(torch.arange(s1 - s0), starts[1:] - starts[:-1])
                    x[step_of_entry, b, self.inputs[e0:e1]] = self.counts[e0:e1]
                return x, self.labels[torch.tensor(recordings)]


        class Net(nn.Module):
            """2312 -> hidden -> 10, Leaky neurons with the atan surrogate (snnTorch tutorial 7)."""

            def __init__(self, hidden, beta, threshold):
                super().__init__()
                self.fc1 = nn.Linear(INPUTS, hidden)
                self.lif1 = snn.Leaky(beta=beta, threshold=threshold, spike_grad=surrogate.atan())
                self.fc2 = nn.Linear(hidden, OUTPUTS)
                self.lif2 = snn.Leaky(beta=beta, threshold=threshold, spike_grad=surrogate.atan())

            def forward(self, x):
                mem1 = self.lif1.init_leaky()
                mem2 = self.lif2.init_leaky()
                spk2_rec = []
                for step in range(x.size(0)):
                    cur1 = self.fc1(x[step])
                    spk1, mem1 = self.lif1(cur1, mem1)
                    cur2 = self.fc2(spk1)
                    spk2, mem2 = self.lif2(cur2, mem2)
                    spk2_rec.append(spk2)
                return torch.stack(spk2_rec)


        def measure(directory):
            with open(os.path.join(directory, "case.json")) as f:
                case = json.load(f)
            torch.set_num_threads(case["threads"])
            try:
                torch.set_num_interop_threads(1)
            except RuntimeError:
                pass  # already set, or inter-op work already started
            torch.manual_seed(case["seed"])
            frames = Frames(directory, case)
            net = Net(case["hidden"], case["beta"], case["threshold"])
            loss_fn = SF.mse_count_loss(correct_rate=case["correct_rate"], incorrect_rate=case["incorrect_rate"])
            optimizer = torch.optim.Adam(net.parameters(), lr=case["lr"], betas=(0.9, 0.999))
            l2 = case["l2"]

            def train(x, targets):
                spk_rec = net(x)
                loss = loss_fn(spk_rec, targets) + l2 * (net.fc1.weight.pow(2).sum() + net.fc2.weight.pow(2).sum())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

            for recordings in case["warmup"]:
                train(*frames.batch(recordings))
            timed = case["timed"]
            batches = recordings_done = steps = events = 0
            seconds = cpu_seconds = 0.0
            while batches < case["min_batches"] or seconds < case["min_seconds"]:
                recordings = timed[batches % len(timed)]
                x, targets = frames.batch(recordings)  # built outside the timed region
                start, cpu_start = time.perf_counter(), time.process_time()
                train(x, targets)
                seconds += time.perf_counter() - start
                cpu_seconds += time.process_time() - cpu_start
                batches += 1
                recordings_done += len(recordings)
                steps += x.size(0)
                events += int(x.sum(dtype=torch.float64))
                del x
            result = {"recordings_per_second": recordings_done / seconds, "milliseconds_per_batch": 1000 * seconds / batches,
                      "recordings_per_cpu_second": recordings_done / cpu_seconds,
                      "batches": batches, "mean_steps": steps / batches, "events": events,
                      "torch_threads": torch.get_num_threads()}
            result.update(versions())
            return result


        if __name__ == "__main__":
            if sys.argv[1:] == ["--versions"]:
                print(json.dumps(versions()), flush=True)
            elif len(sys.argv) == 2:
                print(json.dumps(measure(sys.argv[1])), flush=True)
            else:
                raise SystemExit(__doc__)

        """#
}
