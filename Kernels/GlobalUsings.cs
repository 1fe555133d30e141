// ILGPU.Runtime also defines Device; ours is the one ops take.
global using Device = SamEngine.Engine.Device;
