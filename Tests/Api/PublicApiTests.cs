using System.Reflection;
using System.Text;

namespace SamEngine.Tests.Api;

/// <summary>
/// The SamEngine package's public surface is exactly what public-api.txt lists: adding, changing
/// or removing a public member is a decision, made by updating that file with the change.
/// Everything else in the package's assemblies (the runtime: devices, tensors, kernels, file
/// formats, checkpoint readers) is internal.
/// </summary>
public class PublicApiTests
{
    /// <summary>The assemblies the SamEngine package carries (Model/Model.csproj bundles the others).</summary>
    static readonly Assembly[] Package =
    [
        typeof(SamModel).Assembly,            // SamEngine.Model
        typeof(SamException).Assembly,        // SamEngine.Engine
        typeof(RgbImage).Assembly,            // SamEngine.FileFormats
        typeof(SamEngine.Kernels.Gelu).Assembly,
        typeof(SamEngine.Weights.StateDict).Assembly,
    ];

    [Fact]
    public void OnlyTheApiIsPublic()
    {
        var types = Package.SelectMany(a => a.GetExportedTypes()).Select(t => t.FullName!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[]
        {
            "SamEngine.AmgOptions", "SamEngine.AmgOutputMode", "SamEngine.AmgResult", "SamEngine.AmgTimings",
            "SamEngine.BoxXyxy", "SamEngine.ImageEmbedding", "SamEngine.MaskPng", "SamEngine.MaskRecord",
            "SamEngine.RgbImage", "SamEngine.Rle", "SamEngine.SamAutomaticMaskGenerator", "SamEngine.SamDeviceInfo",
            "SamEngine.SamException", "SamEngine.SamModel", "SamEngine.SamPrediction", "SamEngine.SamPredictor",
            "SamEngine.SamProgress",
        }, types);
    }

    [Fact]
    public void TheSurfaceIsTheApprovedOne()
    {
        var approvedPath = Path.Combine(SourceDir(), "public-api.txt");
        var actual = Surface();
        var approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath) : "";
        if (actual == approved) return;
        var written = Path.Combine(Path.GetTempPath(), "samengine-public-api.txt");
        File.WriteAllText(written, actual);
        var a = actual.Split('\n');
        var b = approved.Split('\n');
        var added = a.Except(b).Take(10).Select(l => "+ " + l);
        var removed = b.Except(a).Take(10).Select(l => "- " + l);
        Assert.Fail($"the public API changed; if meant, copy {written} to {approvedPath}:\n{string.Join("\n", removed.Concat(added))}");
    }

    /// <summary>Every public type with its public and protected members, one line each, in a stable order.</summary>
    static string Surface()
    {
        var s = new StringBuilder();
        foreach (var type in Package.SelectMany(a => a.GetExportedTypes()).OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            var kind = type.IsEnum ? "enum" : type.IsValueType ? "struct" : type.IsInterface ? "interface" : type.IsAbstract && type.IsSealed ? "static class" : "class";
            var bases = new[] { type.BaseType }.Where(t => t != null && t != typeof(object) && t != typeof(ValueType) && t != typeof(Enum))
                .Concat(type.GetInterfaces().Where(i => i.IsPublic && !i.Name.StartsWith("IEquatable"))).Select(t => Name(t!));
            s.Append(type.FullName).Append(" (").Append(kind).Append(bases.Any() ? " : " + string.Join(", ", bases) : "").Append(")\n");
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            var lines = type.GetMembers(all)
                .Where(m => Visible(m) && !m.Name.StartsWith('<') && !(m is MethodInfo { IsSpecialName: true } mi && !mi.Name.StartsWith("op_")))
                .Select(Line).Order(StringComparer.Ordinal);
            foreach (var line in lines) s.Append("  ").Append(line).Append('\n');
        }
        return s.ToString();
    }

    static bool Visible(MemberInfo m) => m switch
    {
        MethodBase b => b.IsPublic || b.IsFamily || b.IsFamilyOrAssembly,
        FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
        PropertyInfo p => p.GetAccessors(nonPublic: true).Any(Visible),
        EventInfo e => e.AddMethod != null && Visible(e.AddMethod),
        _ => false,
    };

    static string Line(MemberInfo m) => m switch
    {
        ConstructorInfo c => $"{Static(c)}ctor({Parameters(c)})",
        MethodInfo mi => $"{Static(mi)}{Name(mi.ReturnType)} {mi.Name}({Parameters(mi)})",
        PropertyInfo p => $"{(p.GetAccessors(true)[0].IsStatic ? "static " : "")}{Name(p.PropertyType)} {p.Name} {{ {string.Join(" ", p.GetAccessors(true).Where(Visible).Select(a => a.Name[..3]).Order())} }}",
        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{Name(f.FieldType)} {f.Name}",
        _ => m.ToString()!,
    };

    static string Static(MethodBase m) => m.IsStatic ? "static " : "";

    static string Parameters(MethodBase m) =>
        string.Join(", ", m.GetParameters().Select(p => $"{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));

    static string Name(Type t)
    {
        if (t.IsByRef) return Name(t.GetElementType()!) + "&";
        if (t.IsArray) return Name(t.GetElementType()!) + "[" + new string(',', t.GetArrayRank() - 1) + "]";
        if (t.IsGenericType) return t.Name[..t.Name.IndexOf('`')] + "<" + string.Join(", ", t.GetGenericArguments().Select(Name)) + ">";
        return t.Name;
    }

    // Found from the test binaries up (a CI build maps source paths, so CallerFilePath would not do).
    static string SourceDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SamEngine.sln"))) return Path.Combine(dir.FullName, "Tests", "Api");
        throw new DirectoryNotFoundException("SamEngine.sln not found above " + AppContext.BaseDirectory);
    }
}
