using GrpcJwtAuth.Server;

namespace GrpcJwtAuth.Tests.Server;

/// <summary>The status tables users read must name every detail the server can send.</summary>
public class ReadmeStatusTableTests
{
    // Names, not values: AuthFailure is internal and theory parameters of a public test class must be public.
    public static TheoryData<string> Failures()
    {
        var data = new TheoryData<string>();
        foreach (var failure in Enum.GetValues<AuthFailure>())
        {
            if (failure != AuthFailure.None)
            {
                data.Add(failure.ToString());
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public void Root_readme_lists_the_detail(string failure) =>
        AssertListed(Path.Combine(RepositoryRoot(), "README.md"), Enum.Parse<AuthFailure>(failure));

    [Theory]
    [MemberData(nameof(Failures))]
    public void Package_readme_lists_the_detail(string failure) =>
        AssertListed(Path.Combine(RepositoryRoot(), "src", "GrpcJwtAuth", "README.md"), Enum.Parse<AuthFailure>(failure));

    private static void AssertListed(string readme, AuthFailure failure)
    {
        var info = AuthFailures.Get(failure);
        var text = File.ReadAllText(readme);

        Assert.True(
            text.Contains($"`{info.Status.Detail}`", StringComparison.Ordinal),
            $"{Path.GetFileName(Path.GetDirectoryName(readme))}/README.md does not list the {info.Code} detail for {failure}: '{info.Status.Detail}'");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "GrpcJwtAuth.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("GrpcJwtAuth.sln not found above the test output folder.");
    }
}
