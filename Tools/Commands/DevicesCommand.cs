using System.CommandLine;
using SamEngine.Engine;
using Spectre.Console;

namespace SamEngine.Tools.Commands;

/// <summary>`sam devices`: what this machine can run on, and why a device cannot be used.</summary>
internal static class DevicesCommand
{
    public static Command Create()
    {
        var cmd = new Command("devices", "List compute devices: name, kind, memory, compute units.");
        cmd.SetAction(_ => Cli.Guard(() =>
        {
            var table = new Table().AddColumns("device", "name", "memory", "compute units", "usable", "note");
            foreach (var d in Devices.List())
                table.AddRow(d.Kind.Name(), Markup.Escape(d.Name), d.MemoryBytes > 0 ? $"{d.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB" : "-",
                    d.ComputeUnits > 0 ? d.ComputeUnits.ToString() : "-", d.Usable ? "yes" : "no", Markup.Escape(d.Note));
            AnsiConsole.Write(table);
            var auto = Devices.Open("auto");
            AnsiConsole.MarkupLine($"auto selects: [bold]{auto.Kind.Name()}[/] ({Markup.Escape(auto.Name)})");
            return 0;
        }));
        return cmd;
    }
}
