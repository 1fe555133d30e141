// Tests share devices, their buffer pools and the ILGPU CPU accelerator; the heavy ops already use
// every core, so running test classes one at a time costs little and keeps counters meaningful.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
