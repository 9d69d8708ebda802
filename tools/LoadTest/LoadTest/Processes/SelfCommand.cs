using System.Reflection;

namespace GrpcJwtAuth.LoadTest.Processes;

/// <summary>How to start this tool again as a child process (the generator runs as <c>LoadTest generate …</c>).</summary>
internal static class SelfCommand
{
    public static (string FileName, string[] Prefix) Get()
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("The tool's own path is unknown.");
        var isHost = Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        var assembly = Assembly.GetEntryAssembly()?.Location ?? throw new InvalidOperationException("The tool's assembly is unknown.");
        return isHost ? (processPath, [assembly]) : (processPath, []);
    }
}
